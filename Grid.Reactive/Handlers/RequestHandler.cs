namespace Grid.Reactive;

/// <summary>
/// Serves single requests: takes the request payload and returns the response payload. Throwing (or returning a
/// faulted task) gives the caller a <see cref="RemoteException"/> with the exception's message, its type name and an
/// error code (the one of a <see cref="GridErrorException"/>, otherwise <see cref="RemoteErrorCodes.Unhandled"/>).
/// </summary>
/// <param name="payload">The request payload; the handler owns the array.</param>
/// <param name="cancellationToken">
/// Cancelled when the caller gives up (disposes its subscription), when the caller's deadline passes, or when the
/// connection is lost. The answer of a cancelled call is discarded.
/// </param>
/// <returns>The response payload. The grid reads it after the task completes and does not keep it.</returns>
public delegate ValueTask<byte[]> RequestHandler(byte[] payload, CancellationToken cancellationToken);
