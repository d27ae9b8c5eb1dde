namespace Grid.Reactive;

/// <summary>
/// A single-request handler resolved from dependency injection: registered with
/// <c>services.AddGridHandler&lt;THandler&gt;(id, subroutes)</c> (or <see cref="GridBuilder.AddHandler{THandler}(HandlerId, string[])"/>
/// for a named grid), created in a scope of its own for each call (so it can take scoped services such as a
/// <c>DbContext</c>) and disposed with the scope when the call ends.
/// </summary>
public interface IGridHandler
{
    /// <summary>Answers one call; throwing gives the caller a <see cref="RemoteException"/>.</summary>
    /// <param name="payload">The request payload; the handler owns the array.</param>
    /// <param name="context">
    /// The call: the caller's address, the handler id and subroute it called (one class registered for several
    /// subroutes tells them apart here), its deadline, and <see cref="RequestContext.CancellationToken"/>, which fires
    /// when the caller gives up, its deadline passes or the connection is lost.
    /// </param>
    /// <returns>The response payload.</returns>
    ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context);
}
