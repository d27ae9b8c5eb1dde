using System.Reactive.Linq;
using Grid.Reactive.Handlers;
using MessagePack;

namespace Grid.Reactive;

/// <summary>
/// A single-request handler with MessagePack-serialized request and response types. One instance, shared by both
/// sides (for example a static field), registers the server side and makes the calls, so caller and server cannot
/// disagree on the handler id, the subroute or the types.
/// </summary>
/// <typeparam name="TRequest">The request type: a <c>[MessagePackObject]</c> type or any type the resolver supports.</typeparam>
/// <typeparam name="TResponse">The response type.</typeparam>
/// <example>
/// <code>
/// static readonly TypedRequest&lt;GetRequest, GetResponse&gt; Get = new(new HandlerId(7));
/// Get.Register(manager, async (request, cancellationToken) =&gt; await store.GetAsync(request.Key, cancellationToken));
/// GetResponse response = await Get.Call(connection, new GetRequest("key"));
/// </code>
/// </example>
public sealed class TypedRequest<TRequest, TResponse>
{
    private readonly MessagePackSerializerOptions _serializer;

    /// <summary>Describes the handler.</summary>
    /// <param name="id">The handler id.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <param name="serializer">MessagePack options (resolver, security); when null, <see cref="MessagePackSerializerOptions.Standard"/> with <see cref="MessagePackSecurity.UntrustedData"/> (depth limits, hash-collision resistant maps), since payloads come from the network.</param>
    public TypedRequest(HandlerId id, string? subroute = null, MessagePackSerializerOptions? serializer = null)
    {
        Id = id;
        Subroute = subroute;
        _serializer = serializer ?? TypedCodec.Untrusted;
    }

    /// <summary>The handler id.</summary>
    public HandlerId Id { get; }

    /// <summary>The static subroute, or null.</summary>
    public string? Subroute { get; }

    /// <summary>Serves this handler on <paramref name="manager"/>.</summary>
    /// <param name="manager">The serving node.</param>
    /// <param name="serve">Answers one request. A request that cannot be deserialized never reaches it: the caller gets a <see cref="RemoteException"/> saying so.</param>
    /// <returns>Disposing it unregisters the handler.</returns>
    public IDisposable Register(Manager manager, Func<TRequest, CancellationToken, ValueTask<TResponse>> serve)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(serve);
        return manager.Register(Id, async (payload, cancellationToken) =>
        {
            var request = TypedCodec.Read<TRequest>(payload, _serializer);
            return TypedCodec.Write(await serve(request, cancellationToken).ConfigureAwait(false), _serializer);
        }, Subroute);
    }

    /// <summary>Calls the handler on the other end of <paramref name="connection"/> (see <see cref="Connection.Request"/>).</summary>
    /// <param name="connection">The connection to the serving node.</param>
    /// <param name="request">The request.</param>
    /// <param name="timeout">The deadline; the manager's default when null.</param>
    /// <returns>A cold observable of the one response; a response that cannot be deserialized is a <see cref="PayloadException"/>.</returns>
    public IObservable<TResponse> Call(Connection connection, TRequest request, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var serializer = _serializer;
        return Observable.Defer(() => connection.Request(Id, TypedCodec.Write(request, serializer), timeout, Subroute)
            .Select(payload => TypedCodec.Read<TResponse>(payload, serializer)));
    }
}
