using System.Reactive.Disposables;
using System.Runtime.CompilerServices;
using System.Reactive.Subjects;
using Grid.Reactive.Muxing.Streams;

namespace Grid.Reactive;

/// <summary>
/// A two-way stream to a remote handler, from <see cref="Connection.NewStream"/>: an observer that sends to the
/// remote and an observable of what the remote sends. Subscribing opens the stream (the initial payload goes with
/// the open); disposing that subscription cancels it on both sides. Subscribe once.
/// </summary>
/// <remarks>
/// <para>Receiving: messages arrive in order, off the connection's reader, one at a time; credit goes back to the
/// remote only after <c>OnNext</c> returns, so a slow observer slows the remote producer down to its pace, and
/// stalls nothing else on the connection. The sequence completes when the remote handler ends, or errors with its
/// error (<see cref="RemoteException"/>, <see cref="HandlerNotFoundException"/> when refused),
/// <see cref="DisconnectedException"/>, or <see cref="DeadlineExceededException"/>.</para>
/// <para>Sending, three ways. <see cref="SendAsync"/> completes once the remote has credit for the message: awaiting
/// it never runs ahead of the remote. <see cref="SendAllAsync"/> pulls from an <see cref="IAsyncEnumerable{T}"/> as
/// credit arrives. <see cref="OnNext"/> pushes: it may run ahead of the credit by
/// <see cref="StreamOptions.PushBufferCapacity"/> messages, after which the stream fails with
/// <see cref="BackpressureException"/>. <see cref="Credit"/> shows the credit left.
/// <see cref="OnCompleted"/> ends the input after every message queued; <see cref="OnError"/> cancels the stream.</para>
/// </remarks>
public sealed class ClientStream : ISubject<byte[], byte[]>
{
    private readonly Connection _connection;
    private readonly HandlerId _handler;
    private readonly byte[] _payload;
    private readonly StreamOptions _options;
    private readonly string? _subroute;
    private readonly CreditWindow _window;
    private readonly Connections.UserCode _user;
    private ClientStreamCall? _call;
    private Exception? _failedBeforeOpen;
    private int _subscribed;

    internal ClientStream(Connection connection, HandlerId handler, byte[] payload, StreamOptions options, string? subroute, int maxMessageBytes, Connections.UserCode user,
        System.Diagnostics.Metrics.Counter<long>? creditWaits = null)
    {
        _connection = connection;
        _handler = handler;
        _payload = payload;
        _options = options;
        _subroute = subroute;
        _user = user;
        _window = new CreditWindow(options.PushBufferCapacity, maxMessageBytes, user, creditWaits);
    }

    /// <summary>
    /// The credit left to send: the current value at once (0 until the stream is accepted), the remote's receive window
    /// when it accepts, then each change. Delivered in order off the connection's reader; a throwing observer is
    /// logged and gets nothing more. A very slow observer misses the oldest of more than 1024
    /// undelivered values; the latest always arrives.
    /// </summary>
    public IObservable<int> Credit => _window.Credit;

    /// <summary>Opens the stream and observes the remote's messages. Only one subscription is allowed.</summary>
    /// <param name="observer">Receives the remote's messages, in order, one at a time.</param>
    /// <returns>Disposing it cancels the stream on both sides.</returns>
    /// <exception cref="InvalidOperationException">The stream was already subscribed.</exception>
    public IDisposable Subscribe(IObserver<byte[]> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var call = Open(observer, out var failure);
        if (call is null)
        {
            // On the subscriber's own thread, guarded like every other notification: a throwing observer is logged.
            _user.Invoke(static s => s.Observer.OnError(s.Failure), (Observer: observer, Failure: failure!));
            return Disposable.Empty;
        }

        return call;
    }

    /// <summary>
    /// Opens the stream and pulls the remote's messages instead of observing them: credit goes back to the remote as
    /// each message is read, so a reader that awaits other work between reads paces the remote producer, without
    /// blocking a thread. Leaving the loop early (break, an exception, <paramref name="cancellationToken"/>) cancels the
    /// stream on both sides. Either this or <see cref="Subscribe"/>, once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the stream.</param>
    /// <returns>The remote's messages; the enumeration ends when the remote handler ends, or throws its error.</returns>
    /// <exception cref="InvalidOperationException">The stream was already subscribed or read.</exception>
    public async IAsyncEnumerable<byte[]> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = Open(observer: null, out var failure) ?? throw failure!;
        try
        {
            await foreach (var message in call.PullInbox!.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return message;
            }
        }
        finally
        {
            call.Dispose();
        }
    }

    private ClientStreamCall? Open(IObserver<byte[]>? observer, out Exception? failure)
    {
        if (Interlocked.Exchange(ref _subscribed, 1) != 0)
        {
            throw new InvalidOperationException("A stream is opened by its one subscription or reader; share it with Publish if several observers need it.");
        }

        var session = _connection.CurrentSession;
        failure = Volatile.Read(ref _failedBeforeOpen)
            ?? (session is null || !session.IsOpen ? _connection.NotConnected() : null);
        if (failure is not null)
        {
            _window.Close(failure);
            return null;
        }

        var call = new ClientStreamCall(session!, observer, _window, _handler, _options.Timeout)
        {
            Telemetry = Diagnostics.ClientCallTelemetry.TryStart(session!.Grid, session, _handler.Value, _subroute, "stream"),
        };
        Volatile.Write(ref _call, call);
        call.Open(_payload, _subroute);
        return call;
    }

    /// <summary>Pushes a message to the remote (see the remarks on backpressure).</summary>
    /// <param name="value">The message. Not copied: do not change it after the call.</param>
    /// <exception cref="InvalidOperationException">The remote handler takes no input.</exception>
    /// <exception cref="ArgumentException">The message is larger than this node's <see cref="ManagerOptions.MaxMessageSize"/> allows.</exception>
    /// <exception cref="MessageTooLargeException">The message is larger than the receiving node accepts (its own <see cref="ManagerOptions.MaxMessageSize"/>, told in the handshake); the stream goes on.</exception>
    public void OnNext(byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        switch (_window.Push(value))
        {
            case CreditWindow.PushResult.Overflow:
                Fail(new BackpressureException(
                    $"The stream to handler {_handler} on '{_connection.RemoteAddress}' was pushed more than {_options.PushBufferCapacity} messages beyond its credit. Await SendAsync, or watch Credit, to follow the remote's pace."));
                break;
            case CreditWindow.PushResult.Closed when Volatile.Read(ref _call) is { TakesNoInput: true }:
                throw new InvalidOperationException($"Handler {_handler} on '{_connection.RemoteAddress}' takes no input: the stream is server push only.");
        }
    }

    /// <summary>Ends the input: the remote sees the end after every message sent or queued before it.</summary>
    public void OnCompleted() => _window.End(null);

    /// <summary>Cancels the stream with <paramref name="error"/>: the remote handler is cancelled and sees the error's message.</summary>
    /// <param name="error">Why the stream is cancelled.</param>
    public void OnError(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Fail(error);
    }

    /// <summary>Sends a message once the remote has granted credit for it.</summary>
    /// <param name="message">The message. Not copied: do not change it after the call.</param>
    /// <param name="cancellationToken">Gives up waiting for credit; the message is then not sent.</param>
    /// <returns>Completes when the message is handed to the connection.</returns>
    public ValueTask SendAsync(byte[] message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _window.SendAsync(message, cancellationToken);
    }

    /// <summary>Sends every message of <paramref name="source"/>, pulling the next only when there is credit for it, then ends the input.</summary>
    /// <param name="source">The messages.</param>
    /// <param name="cancellationToken">Stops pulling; the stream is then cancelled.</param>
    /// <returns>Completes after the end of the input was queued.</returns>
    public async Task SendAllAsync(IAsyncEnumerable<byte[]> source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            await foreach (var message in source.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                await _window.SendAsync(message, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not DisconnectedException and not InvalidOperationException)
        {
            Fail(ex);
            throw;
        }

        OnCompleted();
    }

    private void Fail(Exception error)
    {
        if (Volatile.Read(ref _call) is { } call)
        {
            call.Cancel(error);
        }
        else
        {
            Volatile.Write(ref _failedBeforeOpen, error);
            _window.Close(error);
        }
    }
}
