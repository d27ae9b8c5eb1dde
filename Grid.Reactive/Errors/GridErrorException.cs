namespace Grid.Reactive;

/// <summary>
/// Thrown by a handler to fail its call with an error code of its own choosing beside the message: the caller gets a
/// <see cref="RemoteException"/> whose <see cref="RemoteException.ErrorCode"/> is <see cref="ErrorCode"/>, so it can
/// tell "not found" from "disk full" without parsing text. Any other exception a handler throws reaches the caller
/// with the code <see cref="RemoteErrorCodes.Unhandled"/>. Only the code, the message and the exception's type name
/// cross the wire, never the stack trace or inner exceptions.
/// </summary>
/// <example>
/// <code>
/// throw new GridErrorException("not-found", $"No file '{path}' on this disk.");
/// </code>
/// </example>
public sealed class GridErrorException : Exception
{
    /// <summary>The longest error code, in characters.</summary>
    public const int MaxErrorCodeLength = 128;

    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The code the caller sees: 1 to <see cref="MaxErrorCodeLength"/> characters, for example <c>"not-found"</c>.</param>
    /// <param name="message">The message the caller sees.</param>
    /// <exception cref="ArgumentException"><paramref name="errorCode"/> is empty or longer than <see cref="MaxErrorCodeLength"/>.</exception>
    public GridErrorException(string errorCode, string message) : base(message) => ErrorCode = Validate(errorCode);

    /// <summary>Creates the exception with a cause (which stays on this node: only the code and message are sent).</summary>
    /// <param name="errorCode">The code the caller sees: 1 to <see cref="MaxErrorCodeLength"/> characters.</param>
    /// <param name="message">The message the caller sees.</param>
    /// <param name="innerException">The cause, for this node's logs.</param>
    /// <exception cref="ArgumentException"><paramref name="errorCode"/> is empty or longer than <see cref="MaxErrorCodeLength"/>.</exception>
    public GridErrorException(string errorCode, string message, Exception? innerException) : base(message, innerException) =>
        ErrorCode = Validate(errorCode);

    /// <summary>Creates the exception with the code <see cref="RemoteErrorCodes.Unhandled"/>.</summary>
    /// <param name="message">The message the caller sees.</param>
    public GridErrorException(string message) : base(message) => ErrorCode = RemoteErrorCodes.Unhandled;

    /// <summary>Creates the exception with the code <see cref="RemoteErrorCodes.Unhandled"/> and a cause.</summary>
    /// <param name="message">The message the caller sees.</param>
    /// <param name="innerException">The cause, for this node's logs.</param>
    public GridErrorException(string message, Exception? innerException) : base(message, innerException) => ErrorCode = RemoteErrorCodes.Unhandled;

    /// <summary>Creates the exception with the code <see cref="RemoteErrorCodes.Unhandled"/>.</summary>
    public GridErrorException() => ErrorCode = RemoteErrorCodes.Unhandled;

    /// <summary>The code the caller sees in <see cref="RemoteException.ErrorCode"/>.</summary>
    public string ErrorCode { get; }

    private static string Validate(string errorCode)
    {
        ArgumentNullException.ThrowIfNull(errorCode);
        if (errorCode.Length is 0 or > MaxErrorCodeLength)
        {
            throw new ArgumentException($"An error code is 1 to {MaxErrorCodeLength} characters; this one has {errorCode.Length}.", nameof(errorCode));
        }

        return errorCode;
    }
}
