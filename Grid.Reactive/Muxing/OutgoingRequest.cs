using System.Globalization;
using System.Text;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Muxing;

/// <summary>
/// The caller's side of one single request: the sink of one subscription to <see cref="Connection.Request"/>.
/// It is in the session's table from the frame being sent until exactly one of these ends it: the answer, the
/// deadline, the subscription being disposed, or the session closing. Removal from the table decides which.
/// </summary>
internal sealed class OutgoingRequest : TimedCall, IDisposable, IThreadPoolWorkItem
{
    private readonly Session _session;
    private readonly IObserver<byte[]> _observer;
    private readonly HandlerId _handler;
    private readonly TimeSpan _timeout;
    private byte[]? _result;
    private Exception? _error;
    private volatile bool _disposed;

    public OutgoingRequest(Session session, IObserver<byte[]> observer, HandlerId handler, TimeSpan timeout)
    {
        _session = session;
        _observer = observer;
        _handler = handler;
        _timeout = timeout;
    }

    public ulong MuxId { get; set; }

    public void Start(byte[] payload, string? subroute)
    {
        if (!_session.TryRegister(this))
        {
            _observer.OnError(new DisconnectedException($"Not connected to '{_session.RemoteAddress}'."));
            return;
        }

        _session.Deadlines.Add(this, _timeout);
        var deadlineMs = (uint)Math.Clamp(Math.Ceiling(_timeout.TotalMilliseconds), 1, uint.MaxValue);
        _session.Send(new Frame(Op.Request, MuxId, deadlineMs: deadlineMs, handlerId: _handler.Value,
            flags: payload.Length == 0 ? FrameFlags.Empty : FrameFlags.None, payload: payload, subroute: subroute));
    }

    /// <summary>The answer arrived (on the reader context; the session already took the call out of its table).</summary>
    public void Complete(in Frame response)
    {
        _session.Deadlines.Remove(this);
        if ((response.Flags & FrameFlags.Error) != 0)
        {
            var text = Encoding.UTF8.GetString(response.Payload.Span);
            _error = (response.Flags & FrameFlags.HandlerNotFound) != 0 ? new HandlerNotFoundException(text) : new RemoteException(text);
        }
        else
        {
            _result = response.Payload.IsEmpty ? [] : response.Payload.ToArray();
        }

        _session.Dispatcher.Dispatch(this);
    }

    /// <summary>The session closed (the session already took the call out of its table).</summary>
    public void Fail(Exception error)
    {
        _session.Deadlines.Remove(this);
        _error = error;
        _session.Dispatcher.Dispatch(this);
    }

    public void Dispose()
    {
        _disposed = true;
        if (_session.TryRemove(this))
        {
            _session.Deadlines.Remove(this);
            _session.Send(new Frame(Op.RequestCancel, MuxId));
        }
    }

    /// <summary>Delivers the outcome to the subscriber, off the reader context.</summary>
    public void Execute()
    {
        if (_disposed)
        {
            return;
        }

        if (_error is not null)
        {
            _observer.OnError(_error);
            return;
        }

        _observer.OnNext(_result!);
        _observer.OnCompleted();
    }

    public override void OnDeadline()
    {
        if (!_session.TryRemove(this))
        {
            return;
        }

        _session.Send(new Frame(Op.RequestCancel, MuxId));
        _error = new DeadlineExceededException(string.Create(CultureInfo.InvariantCulture,
            $"Handler {_handler} on '{_session.RemoteAddress}' did not answer within {_timeout.TotalMilliseconds} ms."));

        // Already on a timer callback, not the reader context: deliver here.
        Execute();
    }
}
