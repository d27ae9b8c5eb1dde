namespace Grid.Reactive;

/// <summary>
/// A stream handler resolved from dependency injection: registered with
/// <c>services.AddGridStreamHandler&lt;THandler&gt;(id, options, subroutes)</c> (or
/// <see cref="GridBuilder.AddStreamHandler{THandler}(HandlerId, StreamHandlerOptions?, string[])"/> for a named grid),
/// created in a scope of its own for each stream and disposed with the scope when the stream ends.
/// </summary>
public interface IGridStreamHandler
{
    /// <summary>Serves one stream (see <see cref="Manager.RegisterStream(HandlerId, Func{ServerStream, CancellationToken, Task}, StreamHandlerOptions?, string?)"/>).</summary>
    /// <param name="stream">The stream: the caller's payload, its messages, and sending back.</param>
    /// <param name="context">
    /// The stream's <see cref="ServerStream.Context"/>: the caller's address, the subroute it opened, its deadline, and
    /// <see cref="RequestContext.CancellationToken"/>, which fires when the caller goes away or the connection is lost.
    /// </param>
    /// <returns>Completes when the stream is done; a fault is the caller's <see cref="RemoteException"/>.</returns>
    Task HandleAsync(ServerStream stream, RequestContext context);
}
