using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Testing;

/// <summary>
/// A whole grid in one process and in virtual time: one <see cref="Manager"/> per node, all on the one scheduler
/// the caller passes (a <c>TestScheduler</c>), linked by an <see cref="InMemoryNetwork"/> whose faults the grid
/// injects and records: latency, bandwidth, cuts, partitions, holds, drops, slow readers, node crashes and restarts. Every random choice comes
/// from <see cref="SimulationOptions.Seed"/>, so a run replays exactly, and <see cref="Trace"/> shows it did.
/// </summary>
/// <remarks>
/// <para>
/// Nothing runs until the scheduler is advanced, by the caller (<c>scheduler.AdvanceBy</c>) or by
/// <see cref="RunFor"/> and <see cref="RunUntil"/>. Every member is meant to be called from the thread that drives
/// the scheduler, between advances or from work the scheduler runs; none is thread-safe.
/// </para>
/// <para>
/// Replaying needs user code to take its time from the scheduler too: handlers that wait with
/// <c>Observable.Timer(delay, scheduler)</c> replay; handlers that wait on timer tasks, threads or the wall clock do not.
/// </para>
/// </remarks>
public sealed partial class SimulatedGrid : IAsyncDisposable
{
    private readonly SimulationOptions _options;
    private readonly Dictionary<string, SimulatedNode> _nodes = new(StringComparer.Ordinal);
    private readonly Action<TimeSpan>? _advance;
    private readonly SimulationTrace _trace;
    private bool _disposed;

    /// <summary>Creates the grid and its network. No node is built before <see cref="Start()"/>.</summary>
    /// <param name="options">The nodes, the scheduler, the seed and how each node is configured and set up.</param>
    /// <exception cref="ArgumentException">Fewer than two nodes, an empty or repeated address, or no scheduler.</exception>
    public SimulatedGrid(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Scheduler is null || options.Nodes is null || options.Nodes.Count < 2)
        {
            throw new ArgumentException("SimulationOptions needs a Scheduler and at least two Nodes.", nameof(options));
        }

        foreach (var address in options.Nodes)
        {
            if (string.IsNullOrWhiteSpace(address) || !_nodes.TryAdd(address, new SimulatedNode(address)))
            {
                throw new ArgumentException($"Node addresses must be non-empty and distinct; '{address}' is not.", nameof(options));
            }
        }

        _options = options;
        _advance = options.Advance ?? VirtualClock.For(options.Scheduler);
        _trace = new SimulationTrace(options.Scheduler);
        Nodes = [.. options.Nodes];
        Network = new InMemoryNetwork(options.Scheduler) { DefaultLatency = options.DefaultLatency, DefaultBandwidth = options.DefaultBandwidth };
        Random = new Random(options.Seed);
        if (options.Members is { } members)
        {
            CreateViews(members);
        }
    }

    /// <summary>The seed this run replays from.</summary>
    public int Seed => _options.Seed;

    /// <summary>The scheduler everything runs on.</summary>
    public IScheduler Scheduler => _options.Scheduler;

    /// <summary>The network linking the nodes; its faults can also be driven directly (they are then not traced).</summary>
    public InMemoryNetwork Network { get; }

    /// <summary>
    /// The run's source of randomness, seeded with <see cref="Seed"/>: draw every random choice of a test (which call,
    /// which fault, how long a handler takes) from it, in scheduler order, and the run replays.
    /// </summary>
    public Random Random { get; }

    /// <summary>The nodes' addresses, in the order given.</summary>
    public IReadOnlyList<string> Nodes { get; }

    /// <summary>Every event so far, in the order it happened.</summary>
    public IReadOnlyList<SimulationEvent> Trace => _trace.Events;

    /// <summary>Every event from now on, as it happens (on the scheduler).</summary>
    public IObservable<SimulationEvent> Events => _trace.Live;

    /// <summary>
    /// True when every pair of nodes that are up is <see cref="ConnectionState.Connected"/> on both sides; with a
    /// changing membership (<see cref="SimulationOptions.Members"/>), every pair that is up and in each other's view.
    /// </summary>
    public bool AllConnected => _nodes.Values.Where(n => n.IsUp).All(n =>
        n.Manager!.Connections.All(c => c.State == ConnectionState.Connected || !IsUp(c.RemoteAddress) || !Sees(c.RemoteAddress, n.Address)));

    private bool Sees(string node, string remote) => Node(node).Manager!.Connections.Any(c => c.RemoteAddress == remote);

    /// <summary>The manager currently (or, while the node is down, last) at <paramref name="node"/>.</summary>
    /// <param name="node">A node's address.</param>
    /// <returns>The manager; after a restart, a different object than before.</returns>
    /// <exception cref="ArgumentException">The node is unknown.</exception>
    /// <exception cref="InvalidOperationException">The node was never started.</exception>
    public Manager this[string node] => Node(node).Manager
        ?? throw new InvalidOperationException($"Node '{node}' was never started.");

    /// <summary>True while <paramref name="node"/> is started and has not crashed or stopped since.</summary>
    /// <param name="node">A node's address.</param>
    /// <returns>Whether it is up.</returns>
    public bool IsUp(string node) => Node(node).IsUp;

    /// <summary>How many times <paramref name="node"/> was started before its current manager: 0 for the first.</summary>
    /// <param name="node">A node's address.</param>
    /// <returns>The count, or -1 if it was never started.</returns>
    public int Incarnation(string node) => Node(node).Incarnation;

    /// <summary>Starts every node that is not up (at first, all of them; later, those crashed or stopped).</summary>
    /// <returns>This grid.</returns>
    public SimulatedGrid Start()
    {
        foreach (var node in Nodes.Where(n => !IsUp(n)))
        {
            Start(node);
        }

        return this;
    }

    /// <summary>
    /// Starts <paramref name="node"/>: for the first time, or again after <see cref="Crash"/> or <see cref="Stop"/>,
    /// as a new <see cref="Manager"/> at the same address and with a new instance id. The manager is built from
    /// <see cref="SimulationOptions.Configure"/>, set up with <see cref="SimulationOptions.Setup"/>, then started.
    /// </summary>
    /// <param name="node">A node's address.</param>
    /// <exception cref="InvalidOperationException">The node is already up, or <see cref="SimulationOptions.Configure"/> changed its address, transport or scheduler.</exception>
    public void Start(string node)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var state = Node(node);
        if (state.IsUp)
        {
            throw new InvalidOperationException($"Node '{node}' is already up.");
        }

        var incarnation = state.Incarnation + 1;
        var manager = new Manager(OptionsFor(node, incarnation));
        _options.Setup?.Invoke(manager);
        state.Manager = manager;
        state.Incarnation = incarnation;
        state.IsUp = true;
        state.Tracing = Observe(manager);
        Record(SimulationEventKind.NodeStarted, node, null, $"incarnation {incarnation}");
        var started = manager.StartAsync();
        if (!started.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException($"Node '{node}' did not start synchronously over the in-memory network.");
        }
    }

    /// <summary>
    /// Crashes <paramref name="node"/>: its links end under it, with what was in flight lost, then its manager is
    /// disposed, its goodbyes going nowhere. Its own calls fail with <see cref="DisconnectedException"/> and its
    /// handlers are cancelled. <see cref="Start(string)"/> restarts it.
    /// </summary>
    /// <param name="node">A node that is up.</param>
    /// <param name="peersNotice">
    /// True (default): the peers see the links drop at once, as after a connection reset. False: the peers' ends stay
    /// half-open and hear nothing more, as when a machine loses power; they find out from their ping timeouts, or when
    /// the restarted node connects again.
    /// </param>
    /// <exception cref="InvalidOperationException">The node is not up.</exception>
    public void Crash(string node, bool peersNotice = true)
    {
        var state = Up(node);
        Record(SimulationEventKind.NodeCrashed, node, null, peersNotice ? "links reset, manager disposed" : "vanished silently, manager disposed");
        Network.Abort(node, peersNotice);
        state.TakeDown();
    }

    /// <summary>Shuts <paramref name="node"/> down in order: its peers are told it is leaving. <see cref="Start(string)"/> restarts it.</summary>
    /// <param name="node">A node that is up.</param>
    /// <exception cref="InvalidOperationException">The node is not up.</exception>
    public void Stop(string node)
    {
        var state = Up(node);
        Record(SimulationEventKind.NodeStopped, node, null, "manager disposed");
        state.TakeDown();
    }

    /// <summary>Sets the latency of messages sent from <paramref name="from"/> to <paramref name="to"/> from now on.</summary>
    /// <param name="from">The sending node.</param>
    /// <param name="to">The receiving node.</param>
    /// <param name="latency">Zero or more.</param>
    public void SetLatency(string from, string to, TimeSpan latency)
    {
        Pair(from, to);
        Network.SetLatency(from, to, latency);
        Record(SimulationEventKind.Fault, from, to, string.Create(CultureInfo.InvariantCulture, $"latency {latency.TotalMilliseconds} ms"));
    }

    /// <summary>Cuts the link between two nodes (both directions) until <see cref="Heal"/> or <see cref="HealAll"/>.</summary>
    /// <param name="a">One node.</param>
    /// <param name="b">The other node.</param>
    public void Cut(string a, string b)
    {
        Pair(a, b);
        Record(SimulationEventKind.Fault, a, b, "cut");
        Network.Cut(a, b);
    }

    /// <summary>Heals a <see cref="Cut"/> (or one pair of a <see cref="Partition"/>): the two nodes may dial again.</summary>
    /// <param name="a">One node.</param>
    /// <param name="b">The other node.</param>
    public void Heal(string a, string b)
    {
        Pair(a, b);
        Record(SimulationEventKind.Heal, a, b, "heal");
        Network.Heal(a, b);
    }

    /// <summary>
    /// Splits the grid: nodes in different groups cannot reach each other until <see cref="HealAll"/>; nodes in no
    /// group still reach everyone.
    /// </summary>
    /// <param name="groups">Disjoint groups of nodes.</param>
    public void Partition(params IReadOnlyCollection<string>[] groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        foreach (var node in groups.SelectMany(g => g ?? throw new ArgumentException("A group is null.", nameof(groups))))
        {
            Node(node);
        }

        Record(SimulationEventKind.Fault, "*", null, "partition " + string.Join(" | ", groups.Select(g => string.Join(",", g))));
        Network.Partition(groups);
    }

    /// <summary>Holds every message from <paramref name="from"/> to <paramref name="to"/> until <see cref="Release"/>.</summary>
    /// <param name="from">The sending node.</param>
    /// <param name="to">The receiving node.</param>
    public void Hold(string from, string to)
    {
        Pair(from, to);
        Record(SimulationEventKind.Fault, from, to, "hold");
        Network.Hold(from, to);
    }

    /// <summary>Delivers, in order, what a <see cref="Hold"/> kept back, and lets messages flow again.</summary>
    /// <param name="from">The sending node.</param>
    /// <param name="to">The receiving node.</param>
    public void Release(string from, string to)
    {
        Pair(from, to);
        Record(SimulationEventKind.Heal, from, to, "release");
        Network.Release(from, to);
    }

    /// <summary>Silently drops the next <paramref name="count"/> messages from <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <param name="from">The sending node.</param>
    /// <param name="to">The receiving node.</param>
    /// <param name="count">How many; zero cancels a pending drop.</param>
    public void DropNext(string from, string to, int count)
    {
        Pair(from, to);
        Record(SimulationEventKind.Fault, from, to, string.Create(CultureInfo.InvariantCulture, $"drop next {count}"));
        Network.DropNext(from, to, count);
    }

    /// <summary>
    /// Ends every network fault: heals cuts and partitions, releases holds and stopped or slow readers, cancels drops
    /// (latencies and bandwidths stay). Nodes that are down stay down: <see cref="Start()"/> brings them back.
    /// </summary>
    public void HealAll()
    {
        Record(SimulationEventKind.Heal, "*", null, "heal all");
        Network.HealAll();
    }

    /// <summary>Adds a line of the test's own to the trace.</summary>
    /// <param name="node">The node it concerns.</param>
    /// <param name="text">The line.</param>
    public void Note(string node, string text) => Record(SimulationEventKind.Note, node, null, text);

    /// <summary>Advances virtual time by <paramref name="time"/>, running everything due meanwhile.</summary>
    /// <param name="time">Zero or more.</param>
    /// <exception cref="InvalidOperationException">The grid does not know how to advance this scheduler (see <see cref="SimulationOptions.Advance"/>).</exception>
    public void RunFor(TimeSpan time)
    {
        var advance = _advance ?? throw new InvalidOperationException(
            $"Advancing a {Scheduler.GetType().Name} needs SimulationOptions.Advance; or advance the scheduler yourself.");
        advance(time);
    }

    /// <summary>Advances virtual time in steps until <paramref name="condition"/> holds or <paramref name="limit"/> has passed.</summary>
    /// <param name="condition">Checked before each step.</param>
    /// <param name="limit">The most virtual time to run.</param>
    /// <param name="step">The step; default 10 ms.</param>
    /// <returns>Whether the condition held.</returns>
    public bool RunUntil(Func<bool> condition, TimeSpan limit, TimeSpan? step = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var stride = step ?? TimeSpan.FromMilliseconds(10);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(stride, TimeSpan.Zero, nameof(step));
        var until = Scheduler.Now + limit;
        while (!condition())
        {
            var left = until - Scheduler.Now;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            RunFor(left < stride ? left : stride);
        }

        return true;
    }

    /// <summary>Shuts every node that is up down in order and completes <see cref="Events"/>. Runs no virtual time.</summary>
    /// <returns>Completes at once.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var node in Nodes.Select(Node).Where(n => n.IsUp))
        {
            node.IsUp = false;
            await node.Manager!.DisposeAsync().ConfigureAwait(false);
            node.Tracing.Dispose();
        }

        CompleteViews();
        _trace.Dispose();
    }

    private ManagerOptions OptionsFor(string node, int incarnation)
    {
        var options = new ManagerOptions
        {
            Address = node,
            Remotes = Nodes,
            Transport = Network,
            Authenticator = new SharedSecretAuthenticator("Grid.Reactive simulated grid shared secret"u8),
            Scheduler = Scheduler,

            // A seed per incarnation: the jitter replays, and a restarted node gets a new instance id.
            Reconnect = new ReconnectPolicy { Seed = GridContext.StableSeed(Seed, $"{node}#{incarnation}") },
        };
        options = WithMembership(options);
        var configured = _options.Configure?.Invoke(options) ?? options;
        return configured.Address == node && ReferenceEquals(configured.Transport, Network) && ReferenceEquals(configured.Scheduler, Scheduler)
            ? configured
            : throw new InvalidOperationException($"SimulationOptions.Configure must keep the node's Address, Transport and Scheduler (node '{node}').");
    }

    /// <summary>The node at <paramref name="node"/>, or throws that there is none.</summary>
    internal SimulatedNode Node(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return _nodes.TryGetValue(node, out var state)
            ? state
            : throw new ArgumentException($"'{node}' is not a node of this grid. Nodes: {string.Join(", ", Nodes)}.", nameof(node));
    }

    private SimulatedNode Up(string node)
    {
        var state = Node(node);
        return state.IsUp ? state : throw new InvalidOperationException($"Node '{node}' is not up.");
    }

    private void Pair(string a, string b)
    {
        Node(a);
        Node(b);
        if (a == b)
        {
            throw new ArgumentException($"'{a}' is given twice; a link joins two different nodes.", nameof(b));
        }
    }
}
