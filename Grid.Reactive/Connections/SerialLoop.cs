using System.Collections.Concurrent;

namespace Grid.Reactive.Connections;

/// <summary>A command for a session's loop: runs there, alone, and never calls user code.</summary>
internal interface ILoopWork
{
    /// <summary>Does whatever the command's object has due now. May be posted again while queued: it must reconcile, not repeat.</summary>
    void RunOnLoop();
}

/// <summary>
/// One thread of control for a session: every command that touches the session's tables runs here, one at a time.
/// It owns no thread: whoever posts to an idle loop runs it, inline (a caller's request goes out without a hop), and
/// work posted meanwhile by other threads is run by that owner before it lets go. So the tables need no lock, and a
/// call's outcome is decided in one place.
/// </summary>
/// <remarks>
/// Fairness: an owner runs at most <see cref="Batch"/> commands, then hands the rest to the dispatcher, so a caller's
/// thread is never kept busy with other callers' work for long. A command posted to an idle loop with nothing queued
/// runs without being queued at all, and the queue is made only when two threads first meet on the loop: an idle
/// connection holds none.
/// </remarks>
internal sealed class SerialLoop : IThreadPoolWorkItem
{
    private const int Batch = 512;

    private readonly Dispatcher _dispatcher;
    private ConcurrentQueue<ILoopWork>? _queue;
    private int _owned;

    public SerialLoop(Dispatcher dispatcher)
    {
        _dispatcher = dispatcher;
    }

    /// <summary>Runs <paramref name="work"/> on the loop: now, here, when the loop is idle; otherwise soon, by its owner.</summary>
    public void Post(ILoopWork work)
    {
        if (TryEnter())
        {
            if (IsEmpty)
            {
                work.RunOnLoop();
            }
            else
            {
                // Earlier posts go first.
                Queue.Enqueue(work);
            }

            RunAndExit();
            return;
        }

        Queue.Enqueue(work);
        if (TryEnter())
        {
            RunAndExit();
        }
    }

    /// <summary>Takes the loop if it is idle; the caller then runs protocol code and must call <see cref="RunAndExit"/>.</summary>
    public bool TryEnter() => Interlocked.CompareExchange(ref _owned, 1, 0) == 0;

    /// <summary>Runs what is queued (the owner runs earlier posts first), then lets the loop go.</summary>
    public void RunQueued()
    {
        var queue = Volatile.Read(ref _queue);
        for (var i = 0; queue is not null && i < Batch && queue.TryDequeue(out var work); i++)
        {
            work.RunOnLoop();
        }
    }

    /// <summary>Runs what is queued and lets the loop go, taking it back if more arrived meanwhile.</summary>
    public void RunAndExit()
    {
        while (true)
        {
            RunQueued();
            if (!IsEmpty)
            {
                // Still busy after a batch: go on from the dispatcher instead of this caller's thread.
                _dispatcher.Dispatch(this);
                return;
            }

            // A full fence, not a plain release: the look at the queue below must not happen before the loop is let go,
            // or a post that found the loop still taken and this look finding its queue empty would both leave it.
            Interlocked.Exchange(ref _owned, 0);
            if (IsEmpty || !TryEnter())
            {
                return;
            }
        }
    }

    void IThreadPoolWorkItem.Execute() => RunAndExit();

    private bool IsEmpty => Volatile.Read(ref _queue)?.IsEmpty ?? true;

    private ConcurrentQueue<ILoopWork> Queue =>
        Volatile.Read(ref _queue) ?? Interlocked.CompareExchange(ref _queue, new ConcurrentQueue<ILoopWork>(), null) ?? _queue!;
}
