using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Runtime.CompilerServices;
using Grid.Reactive.Handlers;
using MessagePack;

namespace Grid.Reactive;

/// <summary>
/// A <see cref="ClientStream"/> with typed messages, from <see cref="TypedStream{TPayload, TIn, TOut}.Open"/>: the
/// same semantics (subscribe once to open, dispose to cancel, credit-based sending), with each message serialized.
/// A handler message that cannot be deserialized errors the observable with a <see cref="PayloadException"/> and
/// cancels the stream.
/// </summary>
/// <typeparam name="TIn">Messages sent to the handler.</typeparam>
/// <typeparam name="TOut">Messages received from the handler.</typeparam>
public sealed class TypedClientStream<TIn, TOut> : ISubject<TIn, TOut>
{
    private readonly ClientStream _stream;
    private readonly MessagePackSerializerOptions _serializer;

    internal TypedClientStream(ClientStream stream, MessagePackSerializerOptions serializer)
    {
        _stream = stream;
        _serializer = serializer;
    }

    /// <summary>The credit left to send (see <see cref="ClientStream.Credit"/>).</summary>
    public IObservable<int> Credit => _stream.Credit;

    /// <summary>Opens the stream and observes the handler's messages (see <see cref="ClientStream.Subscribe"/>).</summary>
    /// <param name="observer">Receives the handler's messages.</param>
    /// <returns>Disposing it cancels the stream.</returns>
    public IDisposable Subscribe(IObserver<TOut> observer)
    {
        var serializer = _serializer;
        return _stream.Select(m => TypedCodec.Read<TOut>(m, serializer)).Subscribe(observer);
    }

    /// <summary>Pushes a message (see <see cref="ClientStream.OnNext"/>).</summary>
    /// <param name="value">The message.</param>
    public void OnNext(TIn value) => _stream.OnNext(TypedCodec.Write(value, _serializer));

    /// <summary>Ends the input.</summary>
    public void OnCompleted() => _stream.OnCompleted();

    /// <summary>Cancels the stream with <paramref name="error"/>.</summary>
    /// <param name="error">Why.</param>
    public void OnError(Exception error) => _stream.OnError(error);

    /// <summary>Sends a message once the handler has granted credit for it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Gives up waiting for credit.</param>
    /// <returns>Completes when the message is handed to the connection.</returns>
    public ValueTask SendAsync(TIn message, CancellationToken cancellationToken = default) =>
        _stream.SendAsync(TypedCodec.Write(message, _serializer), cancellationToken);

    /// <summary>Sends every message of <paramref name="source"/> as credit allows, then ends the input.</summary>
    /// <param name="source">The messages.</param>
    /// <param name="cancellationToken">Stops pulling.</param>
    /// <returns>Completes after the end of the input was queued.</returns>
    public Task SendAllAsync(IAsyncEnumerable<TIn> source, CancellationToken cancellationToken = default) =>
        _stream.SendAllAsync(Serialize(source, _serializer, cancellationToken), cancellationToken);

    /// <summary>
    /// Opens the stream and pulls the handler's messages instead of observing them (see <see cref="ClientStream.ReadAllAsync"/>):
    /// credit goes back as each is read; leaving the loop early cancels the stream on both sides. Either this or
    /// <see cref="Subscribe"/>, once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the stream.</param>
    /// <returns>The handler's messages; a message that cannot be deserialized throws a <see cref="PayloadException"/> and cancels the stream.</returns>
    /// <exception cref="InvalidOperationException">The stream was already subscribed or read.</exception>
    public async IAsyncEnumerable<TOut> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var message in _stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return TypedCodec.Read<TOut>(message, _serializer);
        }
    }

    private static async IAsyncEnumerable<byte[]> Serialize(IAsyncEnumerable<TIn> source, MessagePackSerializerOptions serializer,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return TypedCodec.Write(item, serializer);
        }
    }
}

/// <summary>A <see cref="ServerStream"/> with typed messages, as a credit-aware typed handler sees it.</summary>
/// <typeparam name="TPayload">The initial payload.</typeparam>
/// <typeparam name="TIn">Messages from the caller.</typeparam>
/// <typeparam name="TOut">Messages to the caller.</typeparam>
public sealed class TypedServerStream<TPayload, TIn, TOut>
{
    private readonly ServerStream _stream;
    private readonly MessagePackSerializerOptions _serializer;

    internal TypedServerStream(ServerStream stream, TPayload payload, MessagePackSerializerOptions serializer)
    {
        _stream = stream;
        Payload = payload;
        _serializer = serializer;
    }

    /// <summary>The caller's initial payload.</summary>
    public TPayload Payload { get; }

    /// <summary>The caller's address.</summary>
    public string RemoteAddress => _stream.RemoteAddress;

    /// <summary>The stream's context: caller, handler id, subroute, deadline and cancellation (see <see cref="ServerStream.Context"/>).</summary>
    public RequestContext Context => _stream.Context;

    /// <summary>Fires when the stream is cancelled (see <see cref="ServerStream.Cancellation"/>).</summary>
    public CancellationToken Cancellation => _stream.Cancellation;

    /// <summary>The credit left to send to the caller.</summary>
    public IObservable<int> Credit => _stream.Credit;

    /// <summary>The caller's messages, pushed; a message that cannot be read errors the sequence with a <see cref="PayloadException"/>.</summary>
    public IObservable<TIn> Incoming
    {
        get
        {
            var serializer = _serializer;
            return _stream.Incoming.Select(m => TypedCodec.Read<TIn>(m, serializer));
        }
    }

    /// <summary>The caller's messages, pulled.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The messages.</returns>
    public async IAsyncEnumerable<TIn> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var message in _stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return TypedCodec.Read<TIn>(message, _serializer);
        }
    }

    /// <summary>Sends a message once the caller has granted credit for it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Gives up waiting for credit.</param>
    /// <returns>Completes when the message is handed to the connection.</returns>
    public ValueTask SendAsync(TOut message, CancellationToken cancellationToken = default) =>
        _stream.SendAsync(TypedCodec.Write(message, _serializer), cancellationToken);
}
