using System.Reactive.Concurrency;
using System.Text;

namespace Grid.Reactive.Tests.Support;

/// <summary>
/// Several managers over one <see cref="InMemoryNetwork"/>, all on one <see cref="InspectableTestScheduler"/>:
/// a whole grid in virtual time. Links have 1 ms latency so timelines show each hop.
/// </summary>
/// <remarks>
/// <c>TestScheduler</c> runs work scheduled for "now" one tick (100 ns) later, so every hand-off onto the scheduler
/// shows in a timeline as <see cref="Tick"/>: a link's flush pass, a dispatch to a handler or to an observer.
/// A request sent at T is answered at <c>T + 2 ms + 4 ticks</c>: flush, hop, dispatch to the handler, flush, hop,
/// dispatch to the caller.
/// </remarks>
public sealed class VirtualGrid : IAsyncDisposable
{
    public static readonly byte[] Secret = Encoding.UTF8.GetBytes("grid-reactive-tests-shared-secret");
    public static readonly TimeSpan Hop = TimeSpan.FromMilliseconds(1);

    /// <summary>One hand-off onto the test scheduler.</summary>
    public const long Tick = 1;

    private readonly Dictionary<string, Manager> _nodes = new(StringComparer.Ordinal);
    private readonly Func<ManagerOptions, ManagerOptions> _configure;

    public VirtualGrid(IReadOnlyList<string> names, Func<ManagerOptions, ManagerOptions>? configure = null)
    {
        Names = names;
        _configure = configure ?? (o => o);
        Network = new InMemoryNetwork(Scheduler) { DefaultLatency = Hop };
    }

    public InspectableTestScheduler Scheduler { get; } = new();

    public InMemoryNetwork Network { get; }

    public IReadOnlyList<string> Names { get; }

    public Manager this[string name] => _nodes[name];

    public ManagerOptions OptionsFor(string name) => _configure(new ManagerOptions
    {
        Address = name,
        Remotes = Names,
        Transport = Network,
        Authenticator = new SharedSecretAuthenticator(Secret),
        Scheduler = Scheduler,
        Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(2), Jitter = 0, Seed = 7 },
    });

    /// <summary>Creates and starts one node (the in-memory listener starts synchronously).</summary>
    public Manager Start(string name, ManagerOptions? options = null)
    {
        var manager = new Manager(options ?? OptionsFor(name));
        _nodes[name] = manager;
        var started = manager.StartAsync();
        Assert.That(started.IsCompletedSuccessfully, Is.True, "in-memory start is synchronous");
        return manager;
    }

    public VirtualGrid StartAll()
    {
        foreach (var name in Names)
        {
            Start(name);
        }

        return this;
    }

    /// <summary>Runs virtual time forward.</summary>
    public void Run(TimeSpan time) => Scheduler.AdvanceBy(time.Ticks);

    public void RunMs(double ms) => Run(TimeSpan.FromMilliseconds(ms));

    public async Task StopAsync(string name)
    {
        if (_nodes.Remove(name, out var manager))
        {
            await manager.DisposeAsync();
        }
    }

    public bool AllConnected() => _nodes.Values.All(m => m.Connections.All(c => c.State == ConnectionState.Connected));

    public async ValueTask DisposeAsync()
    {
        foreach (var manager in _nodes.Values)
        {
            await manager.DisposeAsync();
        }

        _nodes.Clear();
    }

    /// <summary>Virtual ticks of a number of milliseconds, for literal timelines.</summary>
    public static long Ms(double ms) => TimeSpan.FromMilliseconds(ms).Ticks;
}

/// <summary>Handlers and payload helpers shared by tests.</summary>
public static class TestHandlers
{
    public static readonly HandlerId Echo = new(1);
    public static readonly HandlerId Fail = new(2);
    public static readonly HandlerId Hang = new(3);
    public static readonly HandlerId Missing = new(99);

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Registers echo (prefixes the node's address), fail (throws) on every node.</summary>
    public static void RegisterBasics(Manager manager)
    {
        var name = manager.Address;
        manager.Register(Echo, (payload, _) => ValueTask.FromResult(Bytes(name + ":" + Text(payload))));
        manager.Register(Fail, (payload, _) => throw new InvalidOperationException("boom: " + Text(payload)));
    }

    /// <summary>A handler that never answers and records when its token fired.</summary>
    public sealed class Hanging
    {
        private readonly IScheduler _scheduler;

        public Hanging(IScheduler scheduler) => _scheduler = scheduler;

        public List<DateTimeOffset> CancelledAt { get; } = [];

        public int Calls { get; private set; }

        public ValueTask<byte[]> Serve(byte[] payload, CancellationToken cancellationToken)
        {
            Calls++;
            // Completed inline when the token fires (on the test scheduler), never on another thread.
            var never = new TaskCompletionSource<byte[]>();
            cancellationToken.Register(() =>
            {
                lock (CancelledAt)
                {
                    CancelledAt.Add(_scheduler.Now);
                }

                never.TrySetCanceled(cancellationToken);
            });
            return new ValueTask<byte[]>(never.Task);
        }
    }
}
