namespace Grid.Reactive;

/// <summary>
/// A request, answer or stream message is larger than the receiving node accepts (its
/// <see cref="ManagerOptions.MaxMessageSize"/>, which each node tells the other in the handshake). Only that call
/// fails; the connection lives on. The message names both sizes.
/// </summary>
public sealed class MessageTooLargeException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which message, its size and the limit.</param>
    public MessageTooLargeException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">Which message, its size and the limit.</param>
    /// <param name="innerException">The cause.</param>
    public MessageTooLargeException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public MessageTooLargeException() { }
}
