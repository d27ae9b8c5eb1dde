namespace Grid.Reactive.Connections;

/// <summary>
/// Keeps blocking handlers from starving the thread pool, on which every link's reads, writes and pongs depend. At
/// most <see cref="PoolLimit"/> handler invocations run their synchronous part on thread-pool threads at once; one
/// that would exceed it moves (one hop) to a dedicated thread of its own, started on demand. So 16 or 200 handlers
/// that block a thread each leave the pool free, and an unrelated call on another connection is served at once.
/// </summary>
/// <remarks>
/// Only the synchronous part is counted: a handler that awaits returns its thread at the first await. With a scheduler
/// other than the thread pool (virtual time), handlers run where the dispatcher puts them and nothing is counted.
/// Dedicated threads are background threads that end after <see cref="IdleLifetime"/> without work (a thread
/// lifetime, not a protocol timer); there are at most <see cref="MaxThreads"/>, beyond which work waits its turn.
/// </remarks>
internal static class HandlerThreads
{
    /// <summary>Thread-pool threads that handler code may hold at once: all but one core's worth, at least one.</summary>
    public static readonly int PoolLimit = Math.Max(1, Environment.ProcessorCount - 1);

    private const int MaxThreads = 1024;
    private static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(30);
    private static readonly System.Collections.Concurrent.ConcurrentQueue<IThreadPoolWorkItem> Work = new();
    private static readonly SemaphoreSlim Available = new(0);
    private static int _onPool;
    private static int _threads;
    private static int _idle;

    [ThreadStatic]
    private static bool _isDedicated;

    /// <summary>
    /// Called first thing by a handler invocation running on <paramref name="dispatcher"/>: true to run here (then call
    /// <see cref="Exit"/> after the synchronous part); false when it was moved to a dedicated thread, which calls the
    /// invocation again.
    /// </summary>
    public static bool TryEnter(Dispatcher dispatcher, IThreadPoolWorkItem invocation)
    {
        if (!dispatcher.IsThreadPool || _isDedicated)
        {
            return true;
        }

        if (Interlocked.Increment(ref _onPool) <= PoolLimit)
        {
            return true;
        }

        Interlocked.Decrement(ref _onPool);
        Queue(invocation);
        return false;
    }

    /// <summary>Ends the synchronous part of an invocation that <see cref="TryEnter"/> let run.</summary>
    public static void Exit(Dispatcher dispatcher)
    {
        if (dispatcher.IsThreadPool && !_isDedicated)
        {
            Interlocked.Decrement(ref _onPool);
        }
    }

    private static void Queue(IThreadPoolWorkItem invocation)
    {
        Work.Enqueue(invocation);
        if (TryTakeIdle())
        {
            // That thread is ours: wake it.
            Available.Release();
            return;
        }

        if (Interlocked.Increment(ref _threads) > MaxThreads)
        {
            // At the cap: the next thread to finish its work takes this.
            Interlocked.Decrement(ref _threads);
            return;
        }

        new Thread(Run) { IsBackground = true, Name = "Grid.Reactive handler" }.Start();
    }

    private static bool TryTakeIdle()
    {
        var idle = Volatile.Read(ref _idle);
        while (idle > 0)
        {
            var seen = Interlocked.CompareExchange(ref _idle, idle - 1, idle);
            if (seen == idle)
            {
                return true;
            }

            idle = seen;
        }

        return false;
    }

    private static void Run()
    {
        _isDedicated = true;
        while (true)
        {
            while (Work.TryDequeue(out var invocation))
            {
                invocation.Execute();
            }

            Interlocked.Increment(ref _idle);
            if (Available.Wait(IdleLifetime))
            {
                continue; // taken by a queuer, which counted this thread busy again
            }

            if (!TryTakeIdle())
            {
                // A queuer took this thread just as it timed out: its wake-up is on the way.
                Available.Wait();
                continue;
            }

            if (Work.IsEmpty)
            {
                Interlocked.Decrement(ref _threads);
                return;
            }
        }
    }
}
