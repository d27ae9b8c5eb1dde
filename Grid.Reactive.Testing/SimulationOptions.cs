using System.Reactive.Concurrency;

namespace Grid.Reactive.Testing;

/// <summary>Everything a <see cref="SimulatedGrid"/> is built with.</summary>
public sealed record SimulationOptions
{
    /// <summary>
    /// The nodes' addresses: every address a node of this grid can have, at least two, all different. Unless
    /// <see cref="Members"/> is set, every node lists all the others as its fixed <see cref="ManagerOptions.Remotes"/>.
    /// </summary>
    public required IReadOnlyList<string> Nodes { get; init; }

    /// <summary>
    /// When set, the nodes take their peers from a membership that changes while the grid runs
    /// (<see cref="ManagerOptions.Membership"/>), as a cluster fed by DNS or a service registry does: this is the host
    /// set every node sees at first (some or all of <see cref="Nodes"/>), and <see cref="SimulatedGrid.SetMembers(IReadOnlyCollection{string})"/>
    /// changes it for every node, or for one (so that nodes can learn of a change at different times). Default null:
    /// fixed remotes, all of <see cref="Nodes"/>.
    /// </summary>
    public IReadOnlyCollection<string>? Members { get; init; }

    /// <summary>
    /// The one scheduler every node, link and timer runs on: a virtual-time scheduler such as Rx's <c>TestScheduler</c>,
    /// which the caller advances (or lets <see cref="SimulatedGrid.RunFor"/> advance). A scheduler that runs work
    /// later, never inline inside <c>Schedule</c>.
    /// </summary>
    public required IScheduler Scheduler { get; init; }

    /// <summary>
    /// Seeds <see cref="SimulatedGrid.Random"/> and every node's reconnect jitter and instance id, so that a run
    /// replays exactly from its seed. Default 0.
    /// </summary>
    public int Seed { get; init; }

    /// <summary>
    /// Advances <see cref="Scheduler"/>'s clock by a span, running everything due meanwhile, for
    /// <see cref="SimulatedGrid.RunFor"/> and <see cref="SimulatedGrid.RunUntil"/>. Leave null for a <c>TestScheduler</c>
    /// (any <c>VirtualTimeSchedulerBase</c> with <see cref="long"/> or <see cref="DateTimeOffset"/> clocks), which the
    /// grid knows how to advance; give it for any other scheduler, for example <c>t =&gt; scheduler.AdvanceBy(t.Ticks)</c>.
    /// </summary>
    public Action<TimeSpan>? Advance { get; init; }

    /// <summary>Latency of every direction until <see cref="SimulatedGrid.SetLatency"/> changes one. Default 1 ms.</summary>
    public TimeSpan DefaultLatency { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Bandwidth of every direction, in bytes per virtual second, until <see cref="SimulatedGrid.SetBandwidth"/> changes
    /// one (see <see cref="InMemoryNetwork.DefaultBandwidth"/>). Default null: unlimited.
    /// </summary>
    public long? DefaultBandwidth { get; init; }

    /// <summary>
    /// Adjusts a node's <see cref="ManagerOptions"/> (its <see cref="ManagerOptions.Address"/> says which node) before
    /// the node is built, at the first start and at every restart. The options handed in already carry the node's
    /// address, the remotes, the simulated transport, a shared-secret authenticator, the scheduler and a seeded
    /// <see cref="ReconnectPolicy"/>: change timeouts with <c>o =&gt; o with { PingInterval = ... }</c>, and keep
    /// <see cref="ReconnectPolicy.Seed"/> set (<c>o.Reconnect with { ... }</c>) so the run stays replayable.
    /// </summary>
    public Func<ManagerOptions, ManagerOptions>? Configure { get; init; }

    /// <summary>
    /// Prepares a node after it is built and before it starts, at the first start and at every restart: register its
    /// handlers here, since a restarted node is a new <see cref="Manager"/> and serves only what is registered again.
    /// </summary>
    public Action<Manager>? Setup { get; init; }

    /// <summary>
    /// Also trace every frame each node writes (<see cref="SimulationEventKind.Frame"/>), for a finer replay check
    /// and debugging. Default false.
    /// </summary>
    public bool TraceFrames { get; init; }
}
