using System.Reactive.Linq;
using Grid.Reactive.Handlers;
using MessagePack;

namespace Grid.Reactive;

/// <summary>
/// A stream handler with MessagePack-serialized types: the initial payload, the caller's messages and the handler's
/// messages. One instance, shared by both sides, registers the server side and opens the streams, so they cannot
/// disagree on the handler id, the windows or the types. The subroute is per stream and per registration; the
/// constructor's subroute is only the default.
/// </summary>
/// <typeparam name="TPayload">The initial payload sent with the open.</typeparam>
/// <typeparam name="TIn">Messages from the caller to the handler.</typeparam>
/// <typeparam name="TOut">Messages from the handler to the caller.</typeparam>
public sealed class TypedStream<TPayload, TIn, TOut>
{
    private readonly MessagePackSerializerOptions _serializer;

    /// <summary>Describes the stream handler.</summary>
    /// <param name="id">The handler id.</param>
    /// <param name="options">The windows; defaults when null.</param>
    /// <param name="subroute">The default subroute of registrations and streams that name none, or null.</param>
    /// <param name="serializer">MessagePack options; when null, <see cref="MessagePackSerializerOptions.Standard"/> with <see cref="MessagePackSecurity.UntrustedData"/>, since payloads come from the network.</param>
    public TypedStream(HandlerId id, StreamHandlerOptions? options = null, string? subroute = null, MessagePackSerializerOptions? serializer = null)
    {
        Id = id;
        Options = options ?? new StreamHandlerOptions();
        Subroute = subroute;
        _serializer = serializer ?? TypedCodec.Untrusted;
    }

    /// <summary>The handler id.</summary>
    public HandlerId Id { get; }

    /// <summary>The windows the handler is registered with.</summary>
    public StreamHandlerOptions Options { get; }

    /// <summary>The default subroute, or null.</summary>
    public string? Subroute { get; }

    /// <summary>Serves the stream the Rx way (see <see cref="Manager.RegisterStream(HandlerId, Func{byte[], IObservable{byte[]}, IObservable{byte[]}}, StreamHandlerOptions?, string?)"/>).</summary>
    /// <param name="manager">The serving node.</param>
    /// <param name="serve">From the payload and the caller's messages to the messages sent back. A payload that cannot be read refuses the stream; an incoming message that cannot be read errors <c>incoming</c> with a <see cref="PayloadException"/>.</param>
    /// <param name="subroute">The subroute to serve; <see cref="Subroute"/> when null.</param>
    /// <returns>Disposing it unregisters the handler.</returns>
    public IDisposable Register(Manager manager, Func<TPayload, IObservable<TIn>, IObservable<TOut>> serve, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(serve);
        var serializer = _serializer;
        return manager.RegisterStream(Id, (payload, incoming) =>
            serve(TypedCodec.Read<TPayload>(payload, serializer), incoming.Select(m => TypedCodec.Read<TIn>(m, serializer)))
                .Select(m => TypedCodec.Write(m, serializer)), Options, subroute ?? Subroute);
    }

    /// <summary>
    /// Serves the stream the Rx way with the stream's <see cref="RequestContext"/> (caller, subroute, deadline,
    /// cancellation; see <see cref="Manager.RegisterStream(HandlerId, Func{RequestContext, byte[], IObservable{byte[]}, IObservable{byte[]}}, StreamHandlerOptions?, string?)"/>).
    /// </summary>
    /// <param name="manager">The serving node.</param>
    /// <param name="serve">From the payload, the caller's messages and the context to the messages sent back. A payload that cannot be read refuses the stream; an incoming message that cannot be read errors <c>incoming</c> with a <see cref="PayloadException"/>.</param>
    /// <param name="subroute">The subroute to serve; <see cref="Subroute"/> when null.</param>
    /// <returns>Disposing it unregisters the handler.</returns>
    public IDisposable Register(Manager manager, Func<TPayload, IObservable<TIn>, RequestContext, IObservable<TOut>> serve, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(serve);
        var serializer = _serializer;
        return manager.RegisterStream(Id, (context, payload, incoming) =>
            serve(TypedCodec.Read<TPayload>(payload, serializer), incoming.Select(m => TypedCodec.Read<TIn>(m, serializer)), context)
                .Select(m => TypedCodec.Write(m, serializer)), Options, subroute ?? Subroute);
    }

    /// <summary>Serves the stream the credit-aware way (see <see cref="ServerStream"/>).</summary>
    /// <param name="manager">The serving node.</param>
    /// <param name="serve">Runs the stream; its end (or exception) ends the stream. <see cref="TypedServerStream{TPayload, TIn, TOut}.Context"/> tells the caller, subroute and deadline.</param>
    /// <param name="subroute">The subroute to serve; <see cref="Subroute"/> when null.</param>
    /// <returns>Disposing it unregisters the handler.</returns>
    public IDisposable Register(Manager manager, Func<TypedServerStream<TPayload, TIn, TOut>, CancellationToken, Task> serve, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(serve);
        var serializer = _serializer;
        return manager.RegisterStream(Id, (stream, cancellationToken) =>
            serve(new TypedServerStream<TPayload, TIn, TOut>(stream, TypedCodec.Read<TPayload>(stream.Payload, serializer), serializer), cancellationToken),
            Options, subroute ?? Subroute);
    }

    /// <summary>Prepares a stream to this handler on the other end of <paramref name="connection"/>; subscribing opens it.</summary>
    /// <param name="connection">The connection to the serving node.</param>
    /// <param name="payload">The initial payload.</param>
    /// <param name="options">Deadline and push buffer; defaults when null.</param>
    /// <param name="subroute">The subroute to open; <see cref="Subroute"/> when null.</param>
    /// <returns>The stream, not yet open.</returns>
    public TypedClientStream<TIn, TOut> Open(Connection connection, TPayload payload, StreamOptions? options = null, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new TypedClientStream<TIn, TOut>(connection.NewStream(Id, TypedCodec.Write(payload, _serializer), options, subroute ?? Subroute), _serializer);
    }
}
