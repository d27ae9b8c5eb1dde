using System.Reactive.Linq;
using System.Reactive.Subjects;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>Where a <see cref="CreditWindow"/> sends: the stream's frames for one direction.</summary>
internal interface IStreamOutput
{
    /// <summary>Sends message number <paramref name="seq"/> (from 1) of this direction.</summary>
    void SendMessage(uint seq, byte[] payload);

    /// <summary>
    /// Ends this direction, after every message: normally, or with <paramref name="error"/>. <paramref name="sent"/>
    /// is how many messages this direction sent, so the receiver can tell that none is missing.
    /// </summary>
    void SendEnd(uint sent, Exception? error);
}

/// <summary>
/// The sending half of one stream direction: never lets more messages onto the wire than the receiver has granted.
/// Messages beyond the credit wait in order: pushed ones up to a fixed bound (past it the push is refused and the
/// caller fails the stream), awaited ones each held by their awaiting sender until it gives up, when it leaves the
/// queue at once (see <see cref="SendQueue"/>), so nothing grows without bound.
/// </summary>
/// <remarks>
/// One short lock per stream orders sends, grants and the end; it is never held while user code runs: the observers
/// of <see cref="Credit"/> are reached through the grid's guarded hop, in order. Awaiting senders resume through the grid's dispatcher,
/// so under a <c>TestScheduler</c> an async handler that awaits its sends runs in virtual time, deterministically.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Close and the end complete the subject; it holds no unmanaged resource.")]
internal sealed class CreditWindow
{
    private readonly Lock _gate = new();
    private readonly SendQueue _queue = new();
    private readonly Subject<int> _creditChanges = new();
    private readonly int _pushLimit;
    private readonly int _maxMessageBytes;
    private int _peerMaxMessageBytes = int.MaxValue;
    private readonly UserCode _user;
    private IStreamOutput? _output;
    private int _credit;
    private uint _seq;
    private bool _ending;
    private Exception? _endError;
    private Exception? _closed;
    private SendWaiter? _spareWaiter;
    private readonly System.Diagnostics.Metrics.Counter<long>? _creditWaits;

    /// <summary>Most credit values held for a slow <see cref="Credit"/> observer; the oldest beyond it are dropped.</summary>
    private const int CreditBacklog = 1024;

    public CreditWindow(int pushLimit, int maxMessageBytes, UserCode user, System.Diagnostics.Metrics.Counter<long>? creditWaits = null)
    {
        _creditWaits = creditWaits;
        _pushLimit = pushLimit;
        _maxMessageBytes = maxMessageBytes;
        _user = user;
    }

    public enum PushResult
    {
        Sent,
        Queued,
        Overflow,
        Closed,
    }

    /// <summary>Messages sent so far in this direction.</summary>
    public uint Sent
    {
        get
        {
            lock (_gate)
            {
                return _seq;
            }
        }
    }

    /// <summary>True while nothing was ever sent or queued in this direction.</summary>
    public bool IsUntouched
    {
        get
        {
            lock (_gate)
            {
                return _seq == 0 && _queue.Count == 0;
            }
        }
    }

    /// <summary>
    /// The credit left: the current value at once, the receiver's window when it accepts, then every change. Each
    /// observer gets its own ordered, guarded delivery off this lock and off the link's reader: the lock only queues
    /// the values, so a throwing or blocking observer affects only itself.
    /// </summary>
    public IObservable<int> Credit => Observable.Create<int>(observer =>
    {
        var serial = _user.Serial(observer, CreditBacklog);
        lock (_gate)
        {
            serial.OnNext(_credit);
            return _creditChanges.Subscribe(serial);
        }
    });

    /// <summary>Starts sending: <paramref name="credit"/> is the receiver's initial window.</summary>
    /// <summary>Starts sending: <paramref name="credit"/> is the receiver's window, <paramref name="peerMaxMessageBytes"/> the largest message it accepts.</summary>
    public void Attach(IStreamOutput output, int credit, int peerMaxMessageBytes)
    {
        Volatile.Write(ref _peerMaxMessageBytes, peerMaxMessageBytes);
        lock (_gate)
        {
            if (_closed is not null)
            {
                return;
            }

            _output = output;
            _credit = credit;
            Notify();
            Drain();
        }
    }

    public PushResult Push(byte[] message)
    {
        CheckSize(message);
        lock (_gate)
        {
            if (_closed is not null || _ending)
            {
                return PushResult.Closed;
            }

            if (_output is not null && _queue.Count == 0 && _credit > 0)
            {
                SendNext(message);
                return PushResult.Sent;
            }

            if (_queue.Pushes >= _pushLimit)
            {
                return PushResult.Overflow;
            }

            _queue.Enqueue(message);
            return PushResult.Queued;
        }
    }

    public ValueTask SendAsync(byte[] message, CancellationToken cancellationToken)
    {
        CheckSize(message);
        lock (_gate)
        {
            if (_closed is not null)
            {
                return ValueTask.FromException(_closed);
            }

            if (_ending)
            {
                return ValueTask.FromException(new InvalidOperationException("This direction of the stream has already ended."));
            }

            if (_output is not null && _queue.Count == 0 && _credit > 0)
            {
                SendNext(message);
                return ValueTask.CompletedTask;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled(cancellationToken);
            }

            // Resumed from a dispatched work item, so the awaiting code continues there, not under this lock. Queued
            // before its cancellation is registered: a token cancelled meanwhile withdraws it at once (the lock is
            // reentrant), and it never stays behind.
            if (_creditWaits is { Enabled: true })
            {
                _creditWaits.Add(1);
            }

            var waiter = Interlocked.Exchange(ref _spareWaiter, null) ?? new SendWaiter(this, _user.Dispatcher);
            _queue.Enqueue(waiter, message);
            return waiter.Arm(cancellationToken);
        }
    }

    /// <summary>A sender gave up waiting: its message leaves the queue now, and is never sent.</summary>
    internal void Withdraw(SendWaiter waiter)
    {
        lock (_gate)
        {
            _queue.Remove(waiter);
        }
    }

    /// <summary>A waiter whose sender has taken its result can serve the next wait.</summary>
    internal void Recycle(SendWaiter waiter) => Volatile.Write(ref _spareWaiter, waiter);

    /// <summary>The receiver took <paramref name="count"/> more messages.</summary>
    public void Grant(int count)
    {
        lock (_gate)
        {
            if (_closed is not null)
            {
                return;
            }

            _credit += count;
            Drain();
            Notify();
        }
    }

    /// <summary>Ends this direction once every queued message has gone out.</summary>
    public void End(Exception? error)
    {
        lock (_gate)
        {
            if (_closed is not null || _ending)
            {
                return;
            }

            _ending = true;
            _endError = error;
            Drain();
        }
    }

    /// <summary>Stops the direction at once: queued messages are dropped and waiting senders fail.</summary>
    public void Close(Exception reason)
    {
        List<SendWaiter> dropped;
        lock (_gate)
        {
            if (_closed is not null)
            {
                return;
            }

            _closed = reason;
            dropped = _queue.Clear();
        }

        foreach (var waiter in dropped)
        {
            if (waiter.TryClaim())
            {
                waiter.Fail(reason);
            }
        }

        _creditChanges.OnCompleted();
    }

    private void CheckSize(byte[] message)
    {
        if (message.Length > _maxMessageBytes)
        {
            throw new ArgumentException(System.FormattableString.Invariant(
                $"A stream message of {message.Length} bytes is larger than the {_maxMessageBytes} bytes MaxMessageSize allows."), nameof(message));
        }

        // The receiver told its own limit in the handshake: a message over it is refused here, before it could end
        // the receiver's link.
        var peer = Volatile.Read(ref _peerMaxMessageBytes);
        if (message.Length > peer)
        {
            throw new MessageTooLargeException(System.FormattableString.Invariant(
                $"A stream message of {message.Length} bytes is larger than the {peer} bytes the receiving node accepts (its MaxMessageSize less frame overhead)."));
        }
    }

    private void Drain()
    {
        while (_output is not null && _credit > 0 && _queue.TryDequeue(out var message, out var waiter))
        {
            if (waiter is not null && !waiter.TryClaim())
            {
                continue; // its sender is cancelling the wait, and withdraws it: the message is not sent
            }

            SendNext(message);
            waiter?.Succeed();
        }

        if (_ending && _output is not null && _queue.Count == 0)
        {
            _ending = false;
            _closed = new InvalidOperationException("This direction of the stream has ended.");
            _output.SendEnd(_seq, _endError);
            _creditChanges.OnCompleted();
        }
    }

    private void SendNext(byte[] message)
    {
        _credit--;
        _seq++;
        _output!.SendMessage(_seq, message);
        Notify();
    }

    private void Notify()
    {
        if (_creditChanges.HasObservers)
        {
            _creditChanges.OnNext(_credit);
        }
    }
}
