using System.Collections.Concurrent;
using System.Reactive.Subjects;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Muxing;

/// <summary>
/// The frames a session has queued for its link. Any thread enqueues without a lock; the link's writer context
/// drains them, merging whatever has queued up meanwhile into one transport message (bounded in bytes and count),
/// so many small concurrent calls share one send.
/// </summary>
/// <remarks>
/// Frames hold their payload by reference until written: callers hand over arrays they no longer change.
/// The queue is bounded by what the protocol allows in flight (one frame per pending call, a window per stream).
/// </remarks>
internal sealed class OutboundQueue
{
    // Estimated fixed cost of a frame's header fields, used to decide whether one more frame fits a merged message.
    private const int FrameOverhead = 48;

    private readonly ConcurrentQueue<Frame> _frames = new();
    private readonly ILink _link;
    private readonly bool _checksums;
    private readonly int _maxMergedBytes;
    private readonly int _maxMergedFrames;
    private Subject<Frame>? _trace;

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

    /// <summary>Where written frames are traced; costs one volatile read per frame while nobody subscribes.</summary>
    public Subject<Frame>? Trace
    {
        get => Volatile.Read(ref _trace);
        set => Volatile.Write(ref _trace, value);
    }

    public void Enqueue(in Frame frame)
    {
        _frames.Enqueue(frame);
        if (Interlocked.CompareExchange(ref _flushRequested, 1, 0) == 0)
        {
            _link.RequestFlush();
        }
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
            while (!_frames.TryDequeue(out first))
            {
                // Release ownership with a full fence, then look again: an enqueuer that saw the flag still set did not
                // request a flush, so whoever finds the queue non-empty now must take ownership back.
                Interlocked.Exchange(ref _flushRequested, 0);
                if (_frames.IsEmpty || Interlocked.CompareExchange(ref _flushRequested, 1, 0) != 0)
                {
                    return false;
                }
            }
        }

        // Frames are dequeued, never peeked (peeking makes the queue stop reusing its slots): one that does not fit
        // this message is carried over to the next, which this writer pass asks for before it gives up ownership.
        if (!_frames.TryDequeue(out var next))
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
        while (count < _maxMergedFrames && _frames.TryDequeue(out next))
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
        var trace = Volatile.Read(ref _trace);
        if (trace is { HasObservers: true })
        {
            trace.OnNext(frame);
        }
    }
}
