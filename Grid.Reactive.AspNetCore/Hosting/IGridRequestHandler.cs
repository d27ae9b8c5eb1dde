namespace Grid.Reactive;

/// <summary>
/// A typed single-request handler resolved from dependency injection: registered with
/// <c>services.AddGridHandler&lt;THandler, TRequest, TResponse&gt;(descriptor, subroutes)</c> (or
/// <see cref="GridBuilder.AddHandler{THandler, TRequest, TResponse}(TypedRequest{TRequest, TResponse}, string[])"/> for a
/// named grid) for a <see cref="TypedRequest{TRequest, TResponse}"/>, created in a scope of its own for each call.
/// </summary>
/// <typeparam name="TRequest">The request type.</typeparam>
/// <typeparam name="TResponse">The response type.</typeparam>
public interface IGridRequestHandler<in TRequest, TResponse>
{
    /// <summary>Answers one call; throwing gives the caller a <see cref="RemoteException"/>.</summary>
    /// <param name="request">The request.</param>
    /// <param name="context">
    /// The call: the caller's address, the subroute it called, its deadline, and
    /// <see cref="RequestContext.CancellationToken"/>, which fires when the caller gives up, its deadline passes or the
    /// connection is lost.
    /// </param>
    /// <returns>The response.</returns>
    ValueTask<TResponse> HandleAsync(TRequest request, RequestContext context);
}
