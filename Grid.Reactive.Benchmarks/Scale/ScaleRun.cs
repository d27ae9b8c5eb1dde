using System.Diagnostics;
using System.Globalization;
using Grid.Reactive.Connections;
using Microsoft.Reactive.Testing;

namespace Grid.Reactive.Benchmarks.Scale;

/// <summary>
/// One grid size of the <c>--scale</c> mode: N managers in this process on one <see cref="TestScheduler"/>, over an
/// <see cref="InMemoryNetwork"/> (1 ms latency), every pair connected, default options (but MaxPendingHandshakes,
/// raised to N so a node can take all its dialers at once), reconnect jitter seeded per node as the simulated grid
/// does. It connects them, lets them idle, measures memory, timers and pings, partitions half the nodes from the
/// other half, heals, and measures the redial storm.
/// </summary>
internal static class ScaleRun
{
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan PingWindow = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan PartitionFor = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    public static ScaleResult Measure(int n, int seed, Action<string> log)
    {
        var wall = Stopwatch.StartNew();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        var phases = new List<string>();
        void Phase(string name)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart;
            phases.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {cpu.TotalSeconds:0.0}s"));
            log(string.Create(CultureInfo.InvariantCulture, $"  {name}: {wall.Elapsed.TotalSeconds:0.0} s wall, {cpu.TotalSeconds:0.0} s CPU (so far)"));
        }

        var scheduler = new TestScheduler();
        var transport = new DialCounter(new InMemoryNetwork(scheduler) { DefaultLatency = Latency }, scheduler);
        var nodes = Enumerable.Range(0, n).Select(i => string.Create(CultureInfo.InvariantCulture, $"node-{i:D3}")).ToArray();
        transport.Name(nodes);
        var policy = new ReconnectPolicy();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var managers = new Manager[n];
        for (var i = 0; i < n; i++)
        {
            managers[i] = new Manager(new ManagerOptions
            {
                Address = nodes[i],
                Remotes = nodes,
                Transport = transport,
                Authenticator = new SharedSecretAuthenticator("Grid.Reactive scale benchmark shared secret"u8),
                Scheduler = scheduler,
                MaxPendingHandshakes = n,
                Reconnect = policy with { Seed = GridContext.StableSeed(seed, nodes[i] + "#0") },
            });
        }

        foreach (var manager in managers)
        {
            if (!manager.StartAsync().AsTask().IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("A node did not start synchronously over the in-memory network.");
            }
        }

        var started = scheduler.Now;
        var connected = RunUntil(scheduler, () => AllConnected(managers), Limit)
            ? scheduler.Now - started
            : throw new InvalidOperationException($"{n} nodes did not all connect within {Limit}.");
        Phase("connected");

        Advance(scheduler, Idle);
        var (queued, live) = SchedulerProbe.Count(scheduler);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(managers);
        Phase("idle");

        var (pings, frames) = CountFrames(scheduler, managers);
        Phase("pings");

        // The partition: the first half cut from the second.
        var (a, b) = (nodes[..(n / 2)], nodes[(n / 2)..]);
        var cut = (long)a.Length * b.Length;
        transport.Record();
        var partitionedAt = scheduler.Now;
        transport.Network.Partition(a, b);
        Advance(scheduler, PartitionFor);
        var partitionDials = transport.Dials.Count;
        if (!AllConnected(managers, ignoreAcross: n / 2))
        {
            throw new InvalidOperationException("A connection within one side of the partition was down.");
        }

        Phase("partitioned");

        transport.Record();
        var healedAt = scheduler.Now;
        transport.Network.HealAll();
        TimeSpan? reconnect = RunUntil(scheduler, () => AllConnected(managers), Limit) ? scheduler.Now - healedAt : null;
        Phase("healed");

        var dials = transport.Dials;
        var perSecond = dials.GroupBy(d => (d.Ticks - healedAt.UtcTicks) / TimeSpan.TicksPerSecond).Select(g => g.Count()).DefaultIfEmpty().Max();
        var per100 = dials.GroupBy(d => (d.Ticks - healedAt.UtcTicks) / (TimeSpan.TicksPerMillisecond * 100)).Select(g => g.Count()).DefaultIfEmpty().Max();
        var atOnce = dials.GroupBy(d => d).Select(g => g.Count()).DefaultIfEmpty().Max();
        var nodeSecond = dials.GroupBy(d => (d.Node, (d.Ticks - healedAt.UtcTicks) / TimeSpan.TicksPerSecond)).Select(g => g.Count()).DefaultIfEmpty().Max();
        var cutDialers = managers.Select((m, i) => m.Connections.Count(c => c.IsDialer && (i < n / 2) != (string.CompareOrdinal(c.RemoteAddress, nodes[n / 2]) < 0))).Max();

        var stopped = managers.Select(m => m.DisposeAsync().AsTask()).ToArray();
        Advance(scheduler, TimeSpan.FromSeconds(1));
        Task.WaitAll(stopped);

        return new ScaleResult
        {
            Nodes = n,
            Connections = (long)n * (n - 1) / 2,
            Bytes = after - before,
            ConnectTime = connected,
            PingsPerNodePerSecond = pings / (double)n / PingWindow.TotalSeconds,
            FramesPerNodePerSecond = frames / (double)n / PingWindow.TotalSeconds,
            QueuedPerNode = queued / (double)n,
            LivePerNode = live / (double)n,
            CutConnections = cut,
            PartitionDialsPerSecond = partitionDials / (healedAt - partitionedAt).TotalSeconds,
            ReconnectTime = reconnect,
            MaxDelay = policy.MaxDelay,
            HealDials = dials.Count,
            PeakDialsPerSecond = perSecond,
            PeakDialsPer100Ms = per100,
            MaxNodeDialsAtOnce = atOnce,
            MaxNodeDialsPerSecond = nodeSecond,
            MaxNodeCutDialers = cutDialers,
            Wall = wall.Elapsed,
            Cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart,
            WallPhases = string.Join(", ", phases),
        };
    }

    /// <summary>True when every connection is connected; with <paramref name="ignoreAcross"/>, those between the halves split there are skipped.</summary>
    private static bool AllConnected(Manager[] managers, int ignoreAcross = -1)
    {
        for (var i = 0; i < managers.Length; i++)
        {
            foreach (var connection in managers[i].Connections)
            {
                if (connection.State != ConnectionState.Connected
                    && (ignoreAcross < 0 || (i < ignoreAcross) == (string.CompareOrdinal(connection.RemoteAddress, managers[ignoreAcross].Address) < 0)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Counts the frames every node writes during the ping window: connection pings, and all.</summary>
    private static (long Pings, long Frames) CountFrames(TestScheduler scheduler, Manager[] managers)
    {
        long pings = 0, frames = 0;
        var counting = true;
        var subscriptions = new List<IDisposable>();
        foreach (var connection in managers.SelectMany(m => m.Connections))
        {
            subscriptions.Add(connection.FramesOut.Subscribe(frame =>
            {
                if (!counting)
                {
                    return;
                }

                frames++;
                if (frame.Op == Op.Ping && frame.MuxId == 0)
                {
                    pings++;
                }
            }));
        }

        Advance(scheduler, PingWindow);
        counting = false;
        subscriptions.ForEach(s => s.Dispose());
        return (pings, frames);
    }

    private static void Advance(TestScheduler scheduler, TimeSpan time) => scheduler.AdvanceBy(time.Ticks);

    private static bool RunUntil(TestScheduler scheduler, Func<bool> condition, TimeSpan limit)
    {
        var step = TimeSpan.FromMilliseconds(10);
        var until = scheduler.Now + limit;
        while (!condition())
        {
            if (scheduler.Now >= until)
            {
                return false;
            }

            Advance(scheduler, step);
        }

        return true;
    }
}
