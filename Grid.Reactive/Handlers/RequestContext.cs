using System.Reactive.Concurrency;

namespace Grid.Reactive;

/// <summary>
/// What a handler can know about the call it serves: who called, which handler id and subroute it asked for, its
/// deadline and its cancellation. Given to the handlers registered with a context (for example
/// <see cref="Manager.Register(HandlerId, Func{RequestContext, byte[], ValueTask{byte[]}}, string?)"/> or
/// <see cref="TypedRequest{TRequest, TResponse}.Register(Manager, Func{TRequest, RequestContext, ValueTask{TResponse}}, string?)"/>),
/// and to stream handlers as <see cref="ServerStream.Context"/> (or as an argument, to the Rx-shaped ones registered
/// with one: <see cref="Manager.RegisterStream(HandlerId, Func{RequestContext, byte[], IObservable{byte[]}, IObservable{byte[]}}, StreamHandlerOptions?, string?)"/>).
/// Thread-safe; valid for the call's life.
/// </summary>
public sealed class RequestContext
{
    private readonly IScheduler _scheduler;
    private readonly long _dueTicks;

    internal RequestContext(string remoteAddress, HandlerId handler, string? subroute, long dueTicks, IScheduler scheduler, CancellationToken cancellationToken)
    {
        RemoteAddress = remoteAddress;
        Handler = handler;
        Subroute = subroute;
        _dueTicks = dueTicks;
        _scheduler = scheduler;
        CancellationToken = cancellationToken;
    }

    /// <summary>The caller's address (the remote node).</summary>
    public string RemoteAddress { get; }

    /// <summary>The handler id the call was made to.</summary>
    public HandlerId Handler { get; }

    /// <summary>The subroute the call was made to, or null: lets one function serve several subroutes.</summary>
    public string? Subroute { get; }

    /// <summary>
    /// When the caller's deadline passes, on the grid's scheduler (<see cref="ManagerOptions.Scheduler"/>, so in
    /// virtual time under a <c>TestScheduler</c>); null when the call has none (a stream opened without a timeout).
    /// The handler's token fires then.
    /// </summary>
    public DateTimeOffset? Deadline => _dueTicks >= DateTimeOffset.MaxValue.UtcTicks ? null : new DateTimeOffset(_dueTicks, TimeSpan.Zero);

    /// <summary>
    /// The time left before the deadline, by the grid's scheduler: zero once it has passed,
    /// <see cref="Timeout.InfiniteTimeSpan"/> when there is none. Useful to give a nested call no more than what is left.
    /// </summary>
    public TimeSpan RemainingTime
    {
        get
        {
            if (Deadline is null)
            {
                return Timeout.InfiniteTimeSpan;
            }

            var left = _dueTicks - _scheduler.Now.UtcTicks;
            return left > 0 ? TimeSpan.FromTicks(left) : TimeSpan.Zero;
        }
    }

    /// <summary>Fires when the caller cancels, the deadline passes, or the connection is lost (the same token the handler is given).</summary>
    public CancellationToken CancellationToken { get; }
}
