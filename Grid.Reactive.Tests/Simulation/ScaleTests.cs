using System.Globalization;
using System.Text;
using Grid.Reactive.Testing;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// A 64-node grid, every pair connected, in virtual time (the benchmarks' <c>--scale</c> mode measures 64 to 512): what
/// an idle connection holds, and a partition of half the nodes healing without a redial storm or a lost call.
/// </summary>
[Category("Simulation")]
public sealed class ScaleTests
{
    private const int NodeCount = 64;
    private static readonly string[] Names = [.. Enumerable.Range(0, NodeCount).Select(i => string.Create(CultureInfo.InvariantCulture, $"n{i:D2}"))];

    [Test]
    public void IdleConnection_HoldsUnder16KiBOfManagedMemory_BothEndsAndTheirLinkTogether()
    {
        var scheduler = new TestScheduler();
        var network = new InMemoryNetwork(scheduler) { DefaultLatency = TimeSpan.FromMilliseconds(1) };
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var managers = Names.Select(name => new Manager(new ManagerOptions
        {
            Address = name,
            Remotes = Names,
            Transport = network,
            Authenticator = new SharedSecretAuthenticator("scale test secret"u8),
            Scheduler = scheduler,
            Reconnect = new ReconnectPolicy { Seed = 5 },
        })).ToList();
        managers.ForEach(m => Assert.That(m.StartAsync().AsTask().IsCompletedSuccessfully, Is.True));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks); // connected, and a few pings each way
        Assert.That(managers.All(m => m.Connections.All(c => c.State == ConnectionState.Connected)), Is.True);

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(managers);
        GC.KeepAlive(network);
        var perConnection = (after - before) / (NodeCount * (NodeCount - 1) / 2.0);
        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{NodeCount} nodes idle: {perConnection:N0} managed bytes per connection (both ends and the in-memory link)"));
        Assert.That(perConnection, Is.LessThan(16 * 1024));

        var stopped = managers.Select(m => m.DisposeAsync().AsTask()).ToList();
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);
        Assert.That(stopped.All(t => t.IsCompletedSuccessfully), Is.True);
    }

    [Test]
    public async Task HalfTheGridPartitionedThenHealed_EveryCutPairRedialsOnceWithinThreeBackoffPeriods_AndNoCallIsLost()
    {
        var scheduler = new InspectableTestScheduler();
        var ledger = new CallLedger(scheduler);
        SimulatedGrid grid = null!;
        grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = Names,
            Scheduler = scheduler,
            Seed = 64,
            Setup = node => SimulationHandlers.Register(grid, ledger, node),
        });
        await using var _ = grid;
        grid.Start();
        Assert.That(grid.RunUntil(() => grid.AllConnected, TimeSpan.FromSeconds(1)), Is.True);

        // Calls are in flight as the partition falls, and go on while it lasts: on each side and across it.
        var (left, right) = (Names[..(NodeCount / 2)], Names[(NodeCount / 2)..]);
        Calls(grid, ledger, 200);
        grid.RunFor(TimeSpan.FromMilliseconds(1));
        grid.Partition(left, right);
        for (var second = 0; second < 20; second++)
        {
            Calls(grid, ledger, 20);
            grid.RunFor(TimeSpan.FromSeconds(1));
        }

        var across = grid.Nodes.SelectMany(n => grid[n].Connections.Select(c => (Left: left.Contains(n), c)))
            .Where(x => x.Left != left.Contains(x.c.RemoteAddress)).Select(x => x.c).ToList();
        Assert.That(across.All(c => c.State != ConnectionState.Connected), Is.True, "every connection across the partition is down");
        Assert.That(across, Has.Count.EqualTo(2 * left.Length * right.Length));

        var healedAt = scheduler.Now;
        var mark = grid.Trace.Count;
        grid.HealAll();
        var threePeriods = new ReconnectPolicy().MaxDelay * 3;
        Assert.That(grid.RunUntil(() => grid.AllConnected, threePeriods), Is.True,
            () => "not reconnected within three backoff periods: " + string.Join(", ", across.Where(c => c.State != ConnectionState.Connected)));
        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{NodeCount} nodes: every pair connected {(scheduler.Now - healedAt).TotalSeconds:0.00} s after the heal"));

        // The backoff's jitter spreads the redials: each cut pair is dialed once, and no node dials two at one instant.
        var dials = grid.Trace.Skip(mark).Where(e => e.Kind == SimulationEventKind.ConnectionState && e.Detail == nameof(ConnectionState.Connecting)).ToList();
        Assert.That(dials, Has.Count.EqualTo(left.Length * right.Length));
        Assert.That(dials.GroupBy(e => (e.Node, e.Time)).Max(g => g.Count()), Is.EqualTo(1));

        // Every ordered pair answers again, and every call of the run ended exactly once, as its kind allows.
        foreach (var from in Names)
        {
            foreach (var to in Names.Where(n => n != from))
            {
                Call(grid, ledger, from, to, CallKind.Probe);
            }
        }

        Assert.That(grid.RunUntil(() => ledger.AllEnded, TimeSpan.FromSeconds(5)), Is.True, "every call ended");
        Assert.That(ledger.Violations(), Is.Empty);
        Assert.That(ledger.Summary(), Has.Some.StartsWith("Disconnected ").And.Some.StartsWith("Answered "), "calls were cut in flight, and answered");
    }

    private static void Calls(SimulatedGrid grid, CallLedger ledger, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var from = Names[grid.Random.Next(NodeCount)];
            var to = Names.Where(n => n != from).ElementAt(grid.Random.Next(NodeCount - 1));
            Call(grid, ledger, from, to, CallKind.Echo);
        }
    }

    private static void Call(SimulatedGrid grid, CallLedger ledger, string from, string to, CallKind kind)
    {
        var call = ledger.Open(from, to, kind, TimeSpan.FromSeconds(2), grid.Random.Next().ToString("x8", CultureInfo.InvariantCulture));
        call.StartedAt = grid.Scheduler.Now;
        grid.Request(from, to, SimulationHandlers.Echo, Encoding.UTF8.GetBytes(call.Payload), TimeSpan.FromSeconds(2)).Subscribe(call);
    }
}
