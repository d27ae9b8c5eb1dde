using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Grid.Reactive.Connections;

/// <summary>
/// Runs user code (handlers, result observers, cancellation callbacks) off the link's reader context, so that a
/// handler or subscriber that blocks never stalls the other calls on its connection.
/// </summary>
/// <remarks>
/// With the default schedulers work goes straight to the thread pool as an <see cref="IThreadPoolWorkItem"/>
/// (no allocation for items that implement it). With any other scheduler (a <c>TestScheduler</c>, an event loop)
/// work is scheduled on it, so virtual time runs everything in a deterministic order.
/// </remarks>
internal sealed class Dispatcher
{
    private readonly IScheduler _scheduler;
    private readonly bool _threadPool;

    public Dispatcher(IScheduler scheduler)
    {
        _scheduler = scheduler;
        _threadPool = ReferenceEquals(scheduler, DefaultScheduler.Instance)
            || ReferenceEquals(scheduler, ThreadPoolScheduler.Instance)
            || ReferenceEquals(scheduler, TaskPoolScheduler.Default);
    }

    /// <summary>True when work goes to the thread pool (the default schedulers), false for any other scheduler.</summary>
    public bool IsThreadPool => _threadPool;

    public void Dispatch(IThreadPoolWorkItem item)
    {
        if (_threadPool)
        {
            ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
        }
        else
        {
            _scheduler.Schedule(item, static (_, work) =>
            {
                work.Execute();
                return Disposable.Empty;
            });
        }
    }

    /// <summary>
    /// Continues work that resumed on an arbitrary thread (a handler's task completing): inline on the thread pool,
    /// and through the scheduler otherwise, so a grid under a <c>TestScheduler</c> is only ever touched from it.
    /// </summary>
    public void Resume<TState>(Action<TState> action, TState state)
    {
        if (_threadPool)
        {
            action(state);
        }
        else
        {
            Dispatch(action, state);
        }
    }

    public void Dispatch<TState>(Action<TState> action, TState state)
    {
        if (_threadPool)
        {
            ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
        }
        else
        {
            _scheduler.Schedule((action, state), static (_, s) =>
            {
                s.action(s.state);
                return Disposable.Empty;
            });
        }
    }
}
