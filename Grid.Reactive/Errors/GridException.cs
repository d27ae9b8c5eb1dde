namespace Grid.Reactive;

/// <summary>Base class of every error the grid itself raises (as opposed to errors of user code on this node).</summary>
public class GridException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public GridException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public GridException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public GridException() { }
}

/// <summary>
/// The call could not complete because the connection to the remote is not up: it was never connected, was lost
/// while the call was in flight (the inner exception says why, when known), or was shut down.
/// </summary>
public sealed class DisconnectedException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened to the connection.</param>
    public DisconnectedException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">What happened to the connection.</param>
    /// <param name="innerException">Why the connection was lost.</param>
    public DisconnectedException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public DisconnectedException() : base("The remote is disconnected.") { }
}

/// <summary>
/// The remote handler failed: it threw, or returned an error. <see cref="Exception.Message"/> is the remote's text;
/// <see cref="ErrorCode"/> and <see cref="RemoteType"/> say what kind of failure it was (null when the remote is an
/// older node, which sends the text only).
/// </summary>
public sealed class RemoteException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The remote's error text.</param>
    public RemoteException(string message) : base(message) { }

    /// <summary>Creates the exception with the remote's error code and exception type.</summary>
    /// <param name="message">The remote's error text.</param>
    /// <param name="errorCode">The remote's error code, or null.</param>
    /// <param name="remoteType">The full name of the exception type the remote handler threw, or null.</param>
    public RemoteException(string message, string? errorCode, string? remoteType) : base(message)
    {
        ErrorCode = errorCode;
        RemoteType = remoteType;
    }

    /// <summary>
    /// The remote's error code: the one a handler gave its <see cref="GridErrorException"/>,
    /// <see cref="RemoteErrorCodes.Unhandled"/> for any other exception, <see cref="RemoteErrorCodes.InvalidPayload"/>
    /// when a typed handler could not read the request; null when the remote did not say (an older node, or an error
    /// of the remote grid rather than of its handler).
    /// </summary>
    public string? ErrorCode { get; }

    /// <summary>The full name of the exception type the remote handler threw (for example <c>System.IO.IOException</c>), or null when the remote did not say.</summary>
    public string? RemoteType { get; }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">The remote's error text.</param>
    /// <param name="innerException">The cause.</param>
    public RemoteException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public RemoteException() { }
}

/// <summary>The remote has no handler registered for the handler id and subroute of the call.</summary>
public sealed class HandlerNotFoundException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which handler was not found, and where.</param>
    public HandlerNotFoundException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">Which handler was not found, and where.</param>
    /// <param name="innerException">The cause.</param>
    public HandlerNotFoundException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public HandlerNotFoundException() { }
}

/// <summary>The call's deadline passed before the remote answered. The remote handler has been told to cancel.</summary>
public sealed class DeadlineExceededException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which call timed out, after how long.</param>
    public DeadlineExceededException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">Which call timed out, after how long.</param>
    /// <param name="innerException">The cause.</param>
    public DeadlineExceededException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public DeadlineExceededException() { }
}

/// <summary>
/// Bytes received from a peer are not a valid frame (malformed, truncated, oversized, checksum mismatch, or a frame
/// not allowed in the connection's state). The connection that received them is closed and redialled.
/// </summary>
public sealed class ProtocolException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong with the input.</param>
    public ProtocolException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">What is wrong with the input.</param>
    /// <param name="innerException">The cause.</param>
    public ProtocolException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public ProtocolException() { }
}

/// <summary>
/// A handshake was refused: wrong protocol version, unknown name, authentication failure or clock skew.
/// The message gives the reason; the refused link serves no request.
/// </summary>
public sealed class HandshakeRejectedException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the handshake was refused.</param>
    public HandshakeRejectedException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">Why the handshake was refused.</param>
    /// <param name="innerException">The cause.</param>
    public HandshakeRejectedException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public HandshakeRejectedException() { }
}

/// <summary>
/// A push producer (<see cref="ClientStream.OnNext"/>, or a stream handler's outgoing observable) ran further
/// ahead of the receiver's credit than the stream's push buffer allows. The stream is cancelled on both sides.
/// Producers that can outrun their consumer should await <see cref="ClientStream.SendAsync"/> (or
/// <see cref="ServerStream.SendAsync"/>), or watch the <c>Credit</c> observable, instead of pushing.
/// </summary>
public sealed class BackpressureException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">How far the producer ran ahead.</param>
    public BackpressureException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">How far the producer ran ahead.</param>
    /// <param name="innerException">The cause.</param>
    public BackpressureException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public BackpressureException() { }
}

/// <summary>
/// A typed call's payload could not be deserialized into the type both sides agreed on (usually two versions of a
/// type). Only that call or stream fails; the connection goes on.
/// </summary>
public sealed class PayloadException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which type could not be read, and why.</param>
    public PayloadException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">Which type could not be read, and why.</param>
    /// <param name="innerException">The serializer's error.</param>
    public PayloadException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public PayloadException() { }
}
