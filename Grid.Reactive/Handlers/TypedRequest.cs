using System.Reactive.Linq;
using Grid.Reactive.Handlers;
using MessagePack;

namespace Grid.Reactive;

/// <summary>
/// A single-request handler with MessagePack-serialized request and response types. One instance, shared by both
/// sides (for example a static field), registers the server side and makes the calls, so caller and server cannot
/// disagree on the handler id or the types. The subroute is per call and per registration (one descriptor serves
/// every disk of a node, say); the constructor's subroute is only the default.
/// </summary>
/// <typeparam name="TRequest">The request type: a <c>[MessagePackObject]</c> type or any type the resolver supports.</typeparam>
/// <typeparam name="TResponse">The response type.</typeparam>
/// <example>
/// <code>
/// static readonly TypedRequest&lt;GetRequest, GetResponse&gt; Get = new(new HandlerId(7));
/// Get.Register(manager, async (request, cancellationToken) =&gt; await store.GetAsync(request.Key, cancellationToken));
/// GetResponse response = await Get.CallAsync(connection, new GetRequest("key"), cancellationToken: cancellationToken);
/// </code>
/// </example>
public sealed class TypedRequest<TRequest, TResponse>
{
    private readonly MessagePackSerializerOptions _serializer;

    /// <summary>Describes the handler.</summary>
    /// <param name="id">The handler id.</param>
    /// <param name="subroute">The default subroute of registrations and calls that name none, or null.</param>
    /// <param name="serializer">MessagePack options (resolver, security); when null, <see cref="MessagePackSerializerOptions.Standard"/> with <see cref="MessagePackSecurity.UntrustedData"/> (depth limits, hash-collision resistant maps), since payloads come from the network.</param>
    public TypedRequest(HandlerId id, string? subroute = null, MessagePackSerializerOptions? serializer = null)
    {
        Id = id;
        Subroute = subroute;
        _serializer = serializer ?? TypedCodec.Untrusted;
    }

    /// <summary>The handler id.</summary>
    public HandlerId Id { get; }

    /// <summary>The default subroute, or null.</summary>
    public string? Subroute { get; }

    /// <summary>Serves this handler on <paramref name="manager"/>.</summary>
    /// <param name="manager">The serving node.</param>
    /// <param name="serve">Answers one request. A request that cannot be deserialized never reaches it: the caller gets a <see cref="RemoteException"/> saying so, with the code <see cref="RemoteErrorCodes.InvalidPayload"/>.</param>
    /// <param name="subroute">The subroute to serve; <see cref="Subroute"/> when null.</param>
    /// <returns>Disposing it unregisters the handler.</returns>
    /// <exception cref="InvalidOperationException">A handler is already registered for this id and subroute.</exception>
    // Preferred when a lambda fits both this and the context overload (say, one that ignores its second parameter).
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)]
    public IDisposable Register(Manager manager, Func<TRequest, CancellationToken, ValueTask<TResponse>> serve, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(serve);
        var serializer = _serializer;
        return manager.Register(Id, async (payload, cancellationToken) =>
        {
            var request = TypedCodec.Read<TRequest>(payload, serializer);
            return TypedCodec.Write(await serve(request, cancellationToken).ConfigureAwait(false), serializer);
        }, subroute ?? Subroute);
    }

    /// <summary>Serves this handler on <paramref name="manager"/> with the call's <see cref="RequestContext"/> (caller, subroute, deadline, cancellation).</summary>
    /// <param name="manager">The serving node.</param>
    /// <param name="serve">Answers one request; its token is <see cref="RequestContext.CancellationToken"/>. A request that cannot be deserialized never reaches it.</param>
    /// <param name="subroute">The subroute to serve; <see cref="Subroute"/> when null.</param>
    /// <returns>Disposing it unregisters the handler.</returns>
    /// <exception cref="InvalidOperationException">A handler is already registered for this id and subroute.</exception>
    public IDisposable Register(Manager manager, Func<TRequest, RequestContext, ValueTask<TResponse>> serve, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(serve);
        var serializer = _serializer;
        return manager.Register(Id, async (RequestContext context, byte[] payload) =>
        {
            var request = TypedCodec.Read<TRequest>(payload, serializer);
            return TypedCodec.Write(await serve(request, context).ConfigureAwait(false), serializer);
        }, subroute ?? Subroute);
    }

    /// <summary>Calls the handler on the other end of <paramref name="connection"/> (see <see cref="Connection.Request"/>).</summary>
    /// <param name="connection">The connection to the serving node.</param>
    /// <param name="request">The request.</param>
    /// <param name="timeout">The deadline; the manager's default when null.</param>
    /// <param name="subroute">The subroute to call; <see cref="Subroute"/> when null.</param>
    /// <returns>A cold observable of the one response; a response that cannot be deserialized is a <see cref="PayloadException"/>.</returns>
    public IObservable<TResponse> Call(Connection connection, TRequest request, TimeSpan? timeout = null, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var serializer = _serializer;
        var route = subroute ?? Subroute;
        return Observable.Defer(() => connection.Request(Id, TypedCodec.Write(request, serializer), timeout, route)
            .Select(payload => TypedCodec.Read<TResponse>(payload, serializer)));
    }

    /// <summary>
    /// Calls the handler on the other end of <paramref name="connection"/> and awaits the response (see
    /// <see cref="Connection.RequestAsync"/>): cancelling <paramref name="cancellationToken"/> cancels the call on both sides.
    /// </summary>
    /// <param name="connection">The connection to the serving node.</param>
    /// <param name="request">The request.</param>
    /// <param name="timeout">The deadline; the manager's default when null.</param>
    /// <param name="subroute">The subroute to call; <see cref="Subroute"/> when null.</param>
    /// <param name="cancellationToken">Cancels the call: the remote handler's token fires and the task is cancelled.</param>
    /// <returns>The response. Faults as <see cref="Connection.Request"/> errors; a response that cannot be deserialized is a <see cref="PayloadException"/>.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Connection.Request"/>.</exception>
    public Task<TResponse> CallAsync(Connection connection, TRequest request, TimeSpan? timeout = null, string? subroute = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Read(connection.RequestAsync(Id, TypedCodec.Write(request, _serializer), timeout, subroute ?? Subroute, cancellationToken), _serializer);
    }

    private static async Task<TResponse> Read(Task<byte[]> response, MessagePackSerializerOptions serializer) =>
        TypedCodec.Read<TResponse>(await response.ConfigureAwait(false), serializer);
}
