using System.Globalization;
using System.Text;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>
/// The caller's side of one open stream: the sink of a <see cref="ClientStream"/>'s subscription. It is in the
/// session's stream table from the open until exactly one of these ends it: the remote's close, a refusal, the
/// deadline, a missed pong, the caller's cancel, or the session closing. Removal from the table decides which.
/// </summary>
internal sealed class ClientStreamCall : IDisposable, IStreamOutput
{
    private readonly Session _session;
    private readonly IObserver<byte[]>? _observer;
    private readonly CreditWindow _window;
    private readonly HandlerId _handler;
    private readonly TimeSpan? _timeout;
    private TimerSlot _deadline;
    private volatile StreamInbox? _inbox;
    private IDisposable? _delivery;
    private long _lastPongTicks;
    private volatile bool _disposed;

    // A null observer makes a pull consumer, which reads PullInbox.
    public ClientStreamCall(Session session, IObserver<byte[]>? observer, CreditWindow window, HandlerId handler, TimeSpan? timeout)
    {
        _session = session;
        _observer = observer;
        _window = window;
        _handler = handler;
        _timeout = timeout;
        if (observer is null)
        {
            // A pull reader waits on the inbox from the start; the accept brings its window.
            _inbox = NewInbox(0);
        }
    }

    /// <summary>The inbox a pull consumer reads (null for a push consumer).</summary>
    public StreamInbox? PullInbox => _observer is null ? _inbox : null;

    public ulong MuxId { get; set; }

    /// <summary>The call's span and duration, when someone listens; ended where the stream leaves the table.</summary>
    public Diagnostics.ClientCallTelemetry? Telemetry { get; init; }

    /// <summary>True once the handler said it takes no input.</summary>
    public bool TakesNoInput { get; private set; }

    public long LastPongTicks => Interlocked.Read(ref _lastPongTicks);

    public void Open(byte[] payload, string? subroute)
    {
        if (!_session.Streams.TryRegister(this))
        {
            Deliver(new DisconnectedException($"Not connected to '{_session.RemoteAddress}'."));
            return;
        }

        Interlocked.Exchange(ref _lastPongTicks, _session.Scheduler.Now.UtcTicks);
        uint deadlineMs = 0;
        if (_timeout is { } timeout)
        {
            deadlineMs = StreamDeadline.ToWire(timeout);
            _deadline.Set(StreamDeadline.Start(_session.Scheduler, timeout, this, static self =>
                self.End(new DeadlineExceededException(string.Create(CultureInfo.InvariantCulture,
                    $"The stream to handler {self._handler} on '{self._session.RemoteAddress}' passed its {self._timeout!.Value.TotalMilliseconds} ms deadline.")), notifyRemote: true)));
        }

        _session.Send(new Frame(Op.StreamConnect, MuxId, deadlineMs: deadlineMs, handlerId: _handler.Value,
            flags: payload.Length == 0 ? FrameFlags.Empty : FrameFlags.None, payload: payload, subroute: subroute)
        {
            TraceContext = Telemetry?.TraceContext,
        });
    }

    /// <summary>A frame for this stream arrived (reader context).</summary>
    public void Handle(in Frame frame)
    {
        switch (frame.Op)
        {
            case Op.StreamAck:
                OnAck(frame);
                break;
            case Op.StreamConnectError:
                End(StreamErrors.FromErrorFrame(frame), notifyRemote: false);
                break;
            case Op.StreamMessageToClient:
                var inbox = _inbox;
                var violation = inbox is null ? "a message arrived before the stream was accepted"
                    : inbox.Accept(frame.Seq, frame.Payload.IsEmpty ? [] : frame.Payload.ToArray());
                if (violation is not null)
                {
                    End(new ProtocolException($"Stream {MuxId} from '{_session.RemoteAddress}': {violation}."), notifyRemote: true);
                }

                break;
            case Op.StreamCreditToClient:
                _window.Grant((int)Math.Min(frame.Seq, int.MaxValue));
                break;
            case Op.StreamCloseToClient:
                // A normal end counts the messages sent: completing after fewer would hide a loss.
                if ((frame.Flags & FrameFlags.Eof) != 0 && _inbox?.CheckEnd(frame.Seq) is { } shortfall)
                {
                    End(new ProtocolException($"Stream {MuxId} from '{_session.RemoteAddress}': {shortfall}."), notifyRemote: false);
                    break;
                }

                if (_session.Streams.TryRemove(this))
                {
                    _deadline.Cancel();
                    var error = (frame.Flags & FrameFlags.Eof) != 0 ? null
                        : (frame.Flags & FrameFlags.Error) != 0 ? StreamErrors.FromErrorFrame(frame)
                        : new RemoteException($"Handler {_handler} on '{_session.RemoteAddress}' cancelled the stream.");
                    Telemetry?.End(error);
                    _window.Close(error ?? new InvalidOperationException("The remote handler has ended the stream."));
                    if (_inbox is null)
                    {
                        Deliver(error ?? new ProtocolException("The stream was closed before it was accepted."));
                    }
                    else
                    {
                        _inbox.Finish(error);
                    }
                }

                break;
        }
    }

    public void OnPong(in Frame pong)
    {
        if ((pong.Flags & FrameFlags.Error) != 0)
        {
            End(new RemoteException($"'{_session.RemoteAddress}' no longer knows stream {MuxId} of handler {_handler}."), notifyRemote: false);
            return;
        }

        Interlocked.Exchange(ref _lastPongTicks, _session.Scheduler.Now.UtcTicks);
    }

    /// <summary>Ends the stream from this side (caller error, deadline, missed pongs, session loss); idempotent.</summary>
    public void End(Exception error, bool notifyRemote)
    {
        if (!_session.Streams.TryRemove(this))
        {
            return;
        }

        Telemetry?.End(error);
        _deadline.Cancel();
        if (notifyRemote)
        {
            var flags = error is OperationCanceledException ? FrameFlags.None : FrameFlags.Error;
            _session.Send(new Frame(Op.StreamCloseToServer, MuxId, flags: flags,
                payload: flags == FrameFlags.None ? default : Encoding.UTF8.GetBytes(error.Message)));
        }

        _window.Close(error);
        if (_inbox is null)
        {
            Deliver(error);
        }
        else
        {
            _inbox.Abort(error);
        }
    }

    /// <summary>The caller's <c>OnError</c>: cancel with its error, which the observable side also reports.</summary>
    public void Cancel(Exception error) => End(error, notifyRemote: true);

    /// <summary>Disposing the subscription: cancel on both sides, with no further notification here.</summary>
    public void Dispose()
    {
        _disposed = true;
        _delivery?.Dispose();
        if (_session.Streams.TryRemove(this))
        {
            Telemetry?.End(new OperationCanceledException("The stream was cancelled by its subscriber."));
            _deadline.Cancel();
            _session.Send(new Frame(Op.StreamCloseToServer, MuxId));
            _window.Close(new OperationCanceledException("The stream was cancelled by its subscriber."));
            _inbox?.Abort(new OperationCanceledException("The stream was cancelled by its subscriber."));
        }
    }

    void IStreamOutput.SendMessage(uint seq, byte[] payload) =>
        _session.Send(new Frame(Op.StreamMessageToServer, MuxId, seq, flags: payload.Length == 0 ? FrameFlags.Empty : FrameFlags.None, payload: payload));

    void IStreamOutput.SendEnd(uint sent, Exception? error) =>
        _session.Send(new Frame(Op.StreamCloseToServer, MuxId, sent, flags: FrameFlags.Eof));

    private void OnAck(in Frame ack)
    {
        if ((_observer is not null && _inbox is not null) || !StreamErrors.TryReadWindows(ack.Payload, out var inCapacity, out var outCapacity))
        {
            End(new ProtocolException($"Stream {MuxId} from '{_session.RemoteAddress}': a second or malformed accept."), notifyRemote: true);
            return;
        }

        if (_observer is null)
        {
            _inbox!.SetWindow(outCapacity);
        }
        else
        {
            var inbox = NewInbox(outCapacity);
            _inbox = inbox;
            _delivery = inbox.Subscribe(_observer);
        }

        if (inCapacity == 0)
        {
            TakesNoInput = true;
            _window.Close(new InvalidOperationException($"Handler {_handler} takes no input."));
        }
        else
        {
            _window.Attach(this, inCapacity, _session.PeerMaxPayload);
        }
    }

    private StreamInbox NewInbox(int window) => new(_session.Streams.User, window,
        grant: count =>
        {
            if (_session.Streams.Contains(this))
            {
                _session.Send(new Frame(Op.StreamCreditToServer, MuxId, (uint)count));
            }
        },
        consumerFailed: error => End(error, notifyRemote: true));

    /// <summary>Delivers an ending that came before the accept, unless the subscription is disposed by then.</summary>
    private void Deliver(Exception error)
    {
        if (_observer is null)
        {
            _inbox!.Abort(error);
            return;
        }

        _session.Streams.User.Post(static state =>
        {
            if (!state.Call._disposed)
            {
                state.Call._observer!.OnError(state.Error);
            }
        }, (Call: this, Error: error));
    }
}
