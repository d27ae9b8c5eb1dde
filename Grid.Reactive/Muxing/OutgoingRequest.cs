using System.Globalization;
using System.Text;
using Grid.Reactive.Connections;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Muxing;

/// <summary>
/// The caller's side of one single request: the sink of one subscription to <see cref="Connection.Request"/>.
/// Its protocol state is touched only on the session's loop, which decides the one ending among the answer, the
/// deadline, the subscription being disposed and the session closing. The outcome reaches the observer through one
/// guarded hop, never from the loop, the reader or a timer.
/// </summary>
internal sealed class OutgoingRequest : TimedCall, IDisposable, IThreadPoolWorkItem, ILoopWork
{
    private const int New = 0;
    private const int Sent = 1;
    private const int Ended = 2;

    private readonly Session _session;
    private readonly IObserver<byte[]> _observer;
    private readonly HandlerId _handler;
    private readonly TimeSpan _timeout;
    private readonly string? _subroute;
    private byte[]? _payload;
    private byte[]? _result;
    private Exception? _error;
    private int _phase;
    private volatile bool _disposed;

    // Who comes first, the outcome or the dispose: 0 neither yet, 1 delivering, 2 disposed first, 3 delivered.
    private const int Delivering = 1;
    private const int DisposedFirst = 2;
    private const int Delivered = 3;
    private int _delivery;
    private int _deliveringThread;
    private volatile bool _disposedDuringDelivery;

    public OutgoingRequest(Session session, IObserver<byte[]> observer, HandlerId handler, byte[] payload, TimeSpan timeout, string? subroute)
    {
        _session = session;
        _observer = observer;
        _handler = handler;
        _payload = payload;
        _timeout = timeout;
        _subroute = subroute;
    }

    public ulong MuxId { get; private set; }

    public TimeSpan Timeout => _timeout;

    /// <summary>Sends the request: posted to the loop, which runs it inline when idle.</summary>
    public void Start() => _session.Post(this);

    /// <summary>Disposing the subscription: no notification follows; the loop cancels the call on both sides.</summary>
    public void Dispose()
    {
        _disposed = true;
        var delivery = Interlocked.CompareExchange(ref _delivery, DisposedFirst, 0);
        if (delivery == Delivering)
        {
            if (Volatile.Read(ref _deliveringThread) == Environment.CurrentManagedThreadId)
            {
                // From inside the observer: it wants nothing more, so OnCompleted is skipped.
                _disposedDuringDelivery = true;
            }
            else
            {
                // A delivery under way finishes before Dispose returns (as CancellationTokenRegistration.Dispose
                // waits for a running callback), so nothing of this call begins or runs after it.
                var spin = default(SpinWait);
                while (Volatile.Read(ref _delivery) == Delivering)
                {
                    spin.SpinOnce();
                }
            }
        }

        if (Volatile.Read(ref _phase) != Ended)
        {
            _session.Post(this);
        }
    }

    void ILoopWork.RunOnLoop()
    {
        switch (_phase)
        {
            case New when _disposed:
                _phase = Ended;
                _payload = null;
                break;
            case New:
                var payload = _payload!;
                _payload = null;
                if (_session.TryStart(this, payload.Length) is { } refusal)
                {
                    End(refusal);
                    return;
                }

                _phase = Sent;
                var deadlineMs = (uint)Math.Clamp(Math.Ceiling(_timeout.TotalMilliseconds), 1, uint.MaxValue);
                _session.Send(new Frame(Op.Request, MuxId, deadlineMs: deadlineMs, handlerId: _handler.Value,
                    flags: payload.Length == 0 ? FrameFlags.Empty : FrameFlags.None, payload: payload, subroute: _subroute)
                {
                    TraceContext = (_observer as Diagnostics.ClientCallTelemetry)?.TraceContext,
                });
                break;
            case Sent when _disposed:
                if (_session.TryForget(this))
                {
                    _phase = Ended;
                    _session.Send(new Frame(Op.RequestCancel, MuxId));
                }

                break;
        }
    }

    /// <summary>Loop: the session gave the call its mux id and took it into its table.</summary>
    public void Registered(ulong muxId) => MuxId = muxId;

    /// <summary>Loop: the answer arrived; the session already took the call out of its table and its deadline.</summary>
    public void Complete(in Frame response)
    {
        if ((response.Flags & FrameFlags.Error) != 0)
        {
            End(RemoteErrors.From(response, _handler, _session.RemoteAddress));
            return;
        }

        _result = response.Payload.IsEmpty ? [] : response.Payload.ToArray();
        End(null);
    }

    /// <summary>Loop: the session closed; it already took the call out of its table.</summary>
    public void Fail(Exception error) => End(error);

    /// <summary>Loop: the deadline passed; the heap let go of the call, the table still holds it.</summary>
    public override void OnDeadline()
    {
        if (!_session.TryForget(this))
        {
            return;
        }

        _session.Send(new Frame(Op.RequestCancel, MuxId));
        End(new DeadlineExceededException(string.Create(CultureInfo.InvariantCulture,
            $"Handler {_handler} on '{_session.RemoteAddress}' did not answer within {_timeout.TotalMilliseconds} ms.")));
    }

    /// <summary>Delivers the outcome to the subscriber, off the loop, guarded.</summary>
    /// <remarks>
    /// Delivery and disposal race through one compare-and-swap: a delivery begins only if the subscription was not
    /// disposed first, and a dispose from another thread waits for a delivery under way, so nothing runs after
    /// <see cref="Dispose"/> returned. A dispose from inside <c>OnNext</c> skips the <c>OnCompleted</c> after it.
    /// </remarks>
    public void Execute()
    {
        Volatile.Write(ref _deliveringThread, Environment.CurrentManagedThreadId);
        if (Interlocked.CompareExchange(ref _delivery, Delivering, 0) != 0)
        {
            return;
        }

        _session.User.Invoke(static self =>
        {
            if (self._error is not null)
            {
                self._observer.OnError(self._error);
                return;
            }

            self._observer.OnNext(self._result!);
            if (!self._disposedDuringDelivery)
            {
                self._observer.OnCompleted();
            }
        }, this);
        Volatile.Write(ref _delivery, Delivered);
    }

    private void End(Exception? error)
    {
        _phase = Ended;
        _error = error;
        if (!_disposed)
        {
            _session.User.Dispatcher.Dispatch(this);
        }
    }
}

/// <summary>Turns an error response into the exception its code names.</summary>
internal static class RemoteErrors
{
    public static Exception From(in Frame response, HandlerId handler, string? remote)
    {
        var text = Encoding.UTF8.GetString(response.Payload.Span);
        if ((response.Flags & FrameFlags.HandlerNotFound) != 0)
        {
            return new HandlerNotFoundException(text);
        }

        return (ErrorCode)response.Seq switch
        {
            ErrorCode.TooLarge => new MessageTooLargeException(text),
            ErrorCode.Busy => new BusyException(text),
            ErrorCode.GoingAway => new DisconnectedException(text),
            _ => RemoteErrorPayload.ToException(response.Payload.Span),
        };
    }
}
