namespace Grid.Reactive;

/// <summary>
/// A typed stream handler resolved from dependency injection: registered with
/// <c>services.AddGridStreamHandler&lt;THandler, TPayload, TIn, TOut&gt;(descriptor, subroutes)</c> (or
/// <see cref="GridBuilder.AddStreamHandler{THandler, TPayload, TIn, TOut}(TypedStream{TPayload, TIn, TOut}, string[])"/>
/// for a named grid) for a <see cref="TypedStream{TPayload, TIn, TOut}"/>, created in a scope of its own for each
/// stream and disposed with the scope when the stream ends.
/// </summary>
/// <typeparam name="TPayload">The initial payload sent with the open.</typeparam>
/// <typeparam name="TIn">Messages from the caller to the handler.</typeparam>
/// <typeparam name="TOut">Messages from the handler to the caller.</typeparam>
public interface IGridStreamHandler<TPayload, TIn, TOut>
{
    /// <summary>Serves one stream (see <see cref="TypedServerStream{TPayload, TIn, TOut}"/>).</summary>
    /// <param name="stream">The stream: the caller's payload, its messages, and sending back (credit-aware).</param>
    /// <param name="context">
    /// The stream's context: the caller's address, the subroute it opened, its deadline, and
    /// <see cref="RequestContext.CancellationToken"/>, which fires when the caller goes away or the connection is lost.
    /// </param>
    /// <returns>Completes when the stream is done; a fault is the caller's <see cref="RemoteException"/>.</returns>
    Task HandleAsync(TypedServerStream<TPayload, TIn, TOut> stream, RequestContext context);
}
