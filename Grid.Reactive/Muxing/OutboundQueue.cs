using System.Collections.Concurrent;
using System.Reactive.Subjects;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Muxing;

/// <summary>
/// The frames a session has queued for its link. Any thread enqueues without a lock; the link's writer context
/// drains them, merging whatever has queued up meanwhile into one transport message (bounded in bytes and count),
/// so many small concurrent calls share one send. The connection's pings and pongs have a lane of their own that the
/// writer empties first, so liveness never waits behind large data: counts rather than a queue, since they carry
/// nothing (an idle connection holds no buffer for them).
/// </summary>
/// <remarks>
/// Frames hold their payload by reference until written: callers hand over arrays they no longer change. The queue
/// counts the payload bytes it holds (<see cref="QueuedBytes"/>); the session refuses new calls and holds back its
/// handlers while the count is over the connection's budget, and asks (<see cref="WatchDrain"/>) to be told when the
/// writer has brought it back under half.
/// </remarks>
internal sealed class OutboundQueue
{
    // Estimated fixed cost of a frame's header fields, used to decide whether one more frame fits a merged message.
    private const int FrameOverhead = 48;

    // The pong state: none, queued (the writer takes it before anything else), or taken and not yet written.
    private const int NoPong = 0;
    private const int PongQueued = 1;
    private const int PongTaken = 2;

    private readonly ConcurrentQueue<Frame> _data = new();
    private readonly ILink _link;
    private readonly bool _checksums;
    private readonly int _maxMergedBytes;
    private readonly int _maxMergedFrames;
    private Subject<Frame>? _trace;
    private long _queuedBytes;
    private long _drainBelow = -1;
    private Action? _drained;

    // The control lane: pings queued, and the one pong (a peer that floods pings gets one per write).
    private int _pings;
    private int _pong;

    // 1 while a flush is requested or a writer pass owns the queue; see TryWriteMessage for the hand-over.
    private int _flushRequested;

    // A frame dequeued that did not fit the last message; only the writer pass touches it.
    private Frame _carry;
    private bool _hasCarry;

    public OutboundQueue(ILink link, bool checksums, int maxMergedBytes, int maxMergedFrames)
    {
        _link = link;
        _checksums = checksums;
        _maxMergedBytes = maxMergedBytes;
        _maxMergedFrames = maxMergedFrames;
    }

    /// <summary>Where written frames are traced (never user code: the connection's copying relay); free while nobody subscribes.</summary>
    public Subject<Frame>? Trace
    {
        get => Volatile.Read(ref _trace);
        set => Volatile.Write(ref _trace, value);
    }

    /// <summary>Payload bytes queued and not yet written.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    public void Enqueue(in Frame frame)
    {
        if (IsControl(frame))
        {
            if (frame.Op == Op.Ping)
            {
                Interlocked.Increment(ref _pings);
            }
            else if (Interlocked.CompareExchange(ref _pong, PongQueued, NoPong) != NoPong)
            {
                return;
            }
        }
        else
        {
            Interlocked.Add(ref _queuedBytes, frame.Payload.Length);
            _data.Enqueue(frame);
        }

        if (Interlocked.CompareExchange(ref _flushRequested, 1, 0) == 0)
        {
            _link.RequestFlush();
        }
    }

    /// <summary>Queues the connection's pong, unless one is queued already: a peer that floods pings gets one per write.</summary>
    public void EnqueuePong() => Enqueue(new Frame(Op.Pong));

    /// <summary>Calls <paramref name="drained"/> once, from the writer, when the queued bytes fall below <paramref name="below"/>.</summary>
    public void WatchDrain(long below, Action drained)
    {
        Volatile.Write(ref _drained, drained);
        Interlocked.Exchange(ref _drainBelow, below);
        CheckDrained();
    }

    /// <summary>Writes the next transport message, or returns false (and gives up ownership) when nothing is queued.</summary>
    public bool TryWriteMessage(PooledBufferWriter output)
    {
        Frame first;
        if (_hasCarry)
        {
            first = _carry;
            _hasCarry = false;
            _carry = default;
        }
        else
        {
            while (!TryDequeue(out first))
            {
                // Release ownership with a full fence, then look again: an enqueuer that saw the flag still set did not
                // request a flush, so whoever finds the queue non-empty now must take ownership back.
                Interlocked.Exchange(ref _flushRequested, 0);
                if (IsEmpty || Interlocked.CompareExchange(ref _flushRequested, 1, 0) != 0)
                {
                    CheckDrained();
                    return false;
                }
            }
        }

        // Frames are dequeued, never peeked (peeking makes the queue stop reusing its slots): one that does not fit
        // this message is carried over to the next, which this writer pass asks for before it gives up ownership.
        if (!TryDequeue(out var next))
        {
            Write(output, first);
            return true;
        }

        if (!Fits(FrameOverhead + first.Payload.Length, next))
        {
            Write(output, first);
            Carry(next);
            return true;
        }

        FrameCodec.WriteMergedHeader(output);
        Write(output, first);
        Write(output, next);
        var count = 2;
        while (count < _maxMergedFrames && TryDequeue(out next))
        {
            if (!Fits(output.WrittenCount, next))
            {
                Carry(next);
                break;
            }

            Write(output, next);
            count++;
        }

        FrameCodec.CompleteMergedHeader(output.WrittenSpan, count);
        return true;
    }

    // Only the connection's own pings and pongs may overtake queued data: a call's or stream's frames stay in order
    // behind its open (a cancel or a credit must not arrive before the request or accept it is about), and a goodbye
    // goes after the answers queued before it.
    // They carry nothing but their op, which is what lets the lane hold counts instead of frames.
    private static bool IsControl(in Frame frame) =>
        frame.MuxId == 0 && (frame.Op is Op.Ping or Op.Pong) && frame.Flags == FrameFlags.None && frame.Payload.IsEmpty && frame.Subroute is null;

    private bool IsEmpty => Volatile.Read(ref _pings) == 0 && Volatile.Read(ref _pong) != PongQueued && _data.IsEmpty;

    // Only the writer pass dequeues, so a count it sees above zero stays so until it takes one.
    private bool TryDequeue(out Frame frame)
    {
        if (Volatile.Read(ref _pong) == PongQueued && Interlocked.CompareExchange(ref _pong, PongTaken, PongQueued) == PongQueued)
        {
            frame = new Frame(Op.Pong);
            return true;
        }

        if (Volatile.Read(ref _pings) > 0)
        {
            Interlocked.Decrement(ref _pings);
            frame = new Frame(Op.Ping);
            return true;
        }

        return _data.TryDequeue(out frame);
    }

    private void Carry(in Frame frame)
    {
        _carry = frame;
        _hasCarry = true;
    }

    private bool Fits(int written, in Frame next) =>
        written + FrameOverhead + next.Payload.Length + (next.Subroute?.Length * 3 ?? 0) <= _maxMergedBytes;

    private void Write(PooledBufferWriter output, in Frame frame)
    {
        FrameCodec.Write(output, frame, _checksums);
        if (frame.Op == Op.Pong && IsControl(frame))
        {
            Volatile.Write(ref _pong, NoPong);
        }
        else if (!IsControl(frame))
        {
            Interlocked.Add(ref _queuedBytes, -frame.Payload.Length);
            if (Interlocked.Read(ref _drainBelow) >= 0)
            {
                CheckDrained();
            }
        }

        var trace = Volatile.Read(ref _trace);
        if (trace is { HasObservers: true })
        {
            trace.OnNext(frame);
        }
    }

    private void CheckDrained()
    {
        var below = Interlocked.Read(ref _drainBelow);
        if (below >= 0 && Interlocked.Read(ref _queuedBytes) < below && Interlocked.CompareExchange(ref _drainBelow, -1, below) == below)
        {
            Volatile.Read(ref _drained)?.Invoke();
        }
    }
}
