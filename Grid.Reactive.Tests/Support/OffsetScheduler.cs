using System.Reactive.Concurrency;

namespace Grid.Reactive.Tests.Support;

/// <summary>A scheduler whose clock reads <c>offset</c> away from its inner one: a node with a wrong clock.</summary>
public sealed class OffsetScheduler(IScheduler inner, TimeSpan offset) : IScheduler
{
    public DateTimeOffset Now => inner.Now + offset;

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
        inner.Schedule(state, (_, s) => action(this, s));

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) =>
        inner.Schedule(state, dueTime, (_, s) => action(this, s));

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
        inner.Schedule(state, dueTime - offset, (_, s) => action(this, s));
}
