namespace Grid.Reactive;

/// <summary>
/// A single-request handler resolved from dependency injection: registered with
/// <c>services.AddGridHandler&lt;THandler&gt;(id)</c>, created in a scope of its own for each call (so it can take
/// scoped services such as a <c>DbContext</c>) and disposed with the scope when the call ends.
/// </summary>
public interface IGridHandler
{
    /// <summary>Answers one call; throwing gives the caller a <see cref="RemoteException"/>.</summary>
    /// <param name="payload">The request payload; the handler owns the array.</param>
    /// <param name="cancellationToken">Cancelled when the caller gives up, its deadline passes or the connection is lost.</param>
    /// <returns>The response payload.</returns>
    ValueTask<byte[]> HandleAsync(byte[] payload, CancellationToken cancellationToken);
}
