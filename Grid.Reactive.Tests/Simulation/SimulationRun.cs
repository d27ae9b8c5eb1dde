using System.Globalization;
using System.Reactive.Concurrency;
using System.Text;
using Grid.Reactive.Testing;
using Grid.Reactive.Tests.Support;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>What one seed did, and which invariants it broke (none, when it passed).</summary>
internal sealed record SimulationOutcome(int Seed, int Nodes, int Calls, int Streams, int StreamMessages, int Faults, string Endings,
    IReadOnlyDictionary<string, int> StreamEndings, IReadOnlyList<string> Violations, IReadOnlyList<SimulationEvent> Trace)
{
    public bool Passed => Violations.Count == 0;

    /// <summary>Counts of endings as one line, such as <c>Completed 12, Disconnected 3</c>.</summary>
    public static string Describe(IEnumerable<KeyValuePair<string, int>> endings) =>
        string.Join(", ", endings.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key} {e.Value}"));
}

/// <summary>
/// One seeded run of a whole grid in virtual time: 5 to 7 nodes; for <see cref="Workload"/>, random calls between
/// random pairs (echo with a random delay, failures, handlers that never answer, relays through a third node, missing
/// handlers; random deadlines; a few large payloads; some cancelled by the caller) and random streams (server push,
/// client push, two-way, in both handler shapes, with small windows; see <see cref="StreamWorkload"/>), while random
/// faults are injected and undone (latency, cuts, partitions, crashes and restarts, orderly stops, holds, drops; with a
/// hostile <see cref="SimulationProfile"/>, also slow links, stuck or slow readers and a node with a small message size
/// limit); then everything is healed and the grid settles. The invariants are then checked: see <see cref="CallLedger"/> for the
/// calls, <see cref="StreamLedger"/> for the streams, and below for the grid.
/// </summary>
internal static class SimulationRun
{
    public static readonly TimeSpan Workload = TimeSpan.FromSeconds(10);

    private static readonly string[] Names = ["ash", "birch", "cedar", "elm", "fir", "oak", "pine"];
    private static readonly TimeSpan MeanCallGap = TimeSpan.FromMilliseconds(15);
    private static readonly TimeSpan MeanStreamGap = TimeSpan.FromMilliseconds(40);
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(30);

    public static async Task<SimulationOutcome> RunAsync(int seed, bool traceFrames = false, SimulationProfile? profile = null)
    {
        profile ??= SimulationProfile.Default;
        var nodes = Names[..(5 + (int)((uint)seed % 3))];
        var smallNode = profile.SmallLimitNode(seed, nodes);
        var scheduler = new InspectableTestScheduler();
        var ledger = new CallLedger(scheduler);
        var streams = new StreamLedger(scheduler);
        SimulatedGrid? current = null;
        var grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = nodes,
            Scheduler = scheduler,
            Seed = seed,
            TraceFrames = traceFrames,
            Configure = o => o with
            {
                PingInterval = TimeSpan.FromMilliseconds(500),
                PingTimeout = TimeSpan.FromMilliseconds(1500),
                HandshakeTimeout = TimeSpan.FromMilliseconds(500),
                // A stream notices a silent peer (no pong) before its connection does (no ping answered).
                StreamPingInterval = TimeSpan.FromMilliseconds(250),
                StreamTimeout = TimeSpan.FromSeconds(1),
                Reconnect = o.Reconnect with { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromSeconds(1), Jitter = 0.3 },
                MaxMessageSize = o.Address == smallNode ? profile.SmallLimit!.Value : o.MaxMessageSize,
            },
            Setup = manager =>
            {
                SimulationHandlers.Register(current!, ledger, manager);
                SimulationStreamHandlers.Register(current!, streams, manager);
            },
        });
        current = grid;
        using var drops = streams.Watch(grid);
        var violations = new List<string>();
        var faults = new FaultInjector(grid, profile);
        try
        {
            grid.Start();
            if (!grid.RunUntil(() => grid.AllConnected, TimeSpan.FromSeconds(5)))
            {
                violations.Add("the grid did not connect at first: " + Unconnected(grid));
            }

            var end = scheduler.Now + Workload;
            Repeat(grid, end, () => Exponential(grid, MeanCallGap), () => Call(grid, ledger, smallNode, profile.SmallLimit));
            Repeat(grid, end, () => Exponential(grid, MeanStreamGap), () => StreamWorkload.OpenOne(grid, streams));
            Repeat(grid, end, () => TimeSpan.FromMilliseconds(100 + grid.Random.Next(700)), faults.InjectOne);
            grid.RunFor(Workload);

            // Heal everything and let it settle: every pair must connect again, every call must have ended, and every
            // stream too, but for those that may rightly wait forever (a handler that never ends, a lost credit).
            // Latency too: a round trip longer than the handshake timeout never connects, by design.
            faults.Stop();
            grid.HealAll();
            foreach (var from in grid.Nodes)
            {
                foreach (var to in grid.Nodes.Where(n => n != from))
                {
                    grid.SetLatency(from, to, TimeSpan.FromMilliseconds(1));
                    if (profile.CapacityFaultPercent > 0)
                    {
                        grid.SetBandwidth(from, to, null);
                    }
                }
            }

            grid.Start();
            grid.RunUntil(() => grid.AllConnected && ledger.AllEnded && streams.AllSettled, SettleLimit);
            grid.RunFor(TimeSpan.FromSeconds(2));
            if (!grid.AllConnected)
            {
                violations.Add($"after healing and {SettleLimit.TotalSeconds} s, not every pair is connected: {Unconnected(grid)}");
            }

            // Every ordered pair must now answer, each caller getting its own answer, and echo a whole stream.
            foreach (var from in grid.Nodes)
            {
                foreach (var to in grid.Nodes.Where(n => n != from))
                {
                    Call(grid, ledger, from, to, CallKind.Probe, TimeSpan.FromSeconds(1));
                    StreamWorkload.Probe(grid, streams, from, to);
                }
            }

            grid.RunUntil(() => ledger.AllEnded && streams.AllSettled, TimeSpan.FromSeconds(5));

            // The streams still waiting are cancelled by their callers; the ledger says whether they could stall.
            foreach (var stream in streams.StillOpen.ToList())
            {
                stream.Abandon!(true);
            }

            grid.RunFor(TimeSpan.FromSeconds(1));
            violations.AddRange(ledger.Violations());
            violations.AddRange(streams.Violations());

            foreach (var node in grid.Nodes.Where(n => grid[n].PendingCalls() != 0))
            {
                violations.Add($"{node} still holds {grid[node].PendingCalls()} calls and streams in its mux tables after every call and stream ended");
            }

            var pairs = grid.Nodes.Count * (grid.Nodes.Count - 1) / 2;
            if (grid.Network.LiveLinkCount != pairs)
            {
                violations.Add($"{grid.Network.LiveLinkCount} links are open for {pairs} pairs after settling (a leaked or missing link)");
            }
        }
#pragma warning disable CA1031 // Any exception escaping the grid is a finding of this seed, reported with it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            violations.Add($"threw {ex}");
        }

        await grid.DisposeAsync();
        grid.RunFor(TimeSpan.FromMinutes(1));
        if (scheduler.HasPendingWork)
        {
            violations.Add("work is still scheduled a minute after every node shut down (a timer or delivery leaked)");
        }

        return new SimulationOutcome(seed, grid.Nodes.Count, ledger.Count, streams.Count, streams.Messages, faults.Injected,
            string.Join(", ", ledger.Summary()), streams.Endings(), violations, [.. grid.Trace]);
    }

    /// <summary>A random gap with the given mean, in whole milliseconds: calls start on them, like timers, latencies and deadlines, so events often share a tick.</summary>
    private static TimeSpan Exponential(SimulatedGrid grid, TimeSpan mean) =>
        TimeSpan.FromMilliseconds(Math.Round(-mean.TotalMilliseconds * Math.Log(1 - grid.Random.NextDouble())));

    /// <summary>Runs <paramref name="action"/> now and then after every gap, until <paramref name="end"/>.</summary>
    private static void Repeat(SimulatedGrid grid, DateTimeOffset end, Func<TimeSpan> gap, Action action)
    {
        void Next()
        {
            if (grid.Scheduler.Now >= end)
            {
                return;
            }

            action();
            grid.Scheduler.Schedule(gap(), Next);
        }

        grid.Scheduler.Schedule(gap(), Next);
    }

    private static void Call(SimulatedGrid grid, CallLedger ledger, string? smallNode, int? smallLimit)
    {
        var random = grid.Random;
        var from = grid.Nodes[random.Next(grid.Nodes.Count)];
        var others = grid.Nodes.Where(n => n != from).ToList();
        var to = others[random.Next(others.Count)];
        var kind = random.Next(100) switch
        {
            < 50 => CallKind.Echo,
            < 65 => CallKind.Fail,
            < 78 => CallKind.Hang,
            < 90 => CallKind.Relay,
            _ => CallKind.Missing,
        };
        var relayTo = kind == CallKind.Relay ? others.Where(n => n != to).ElementAt(random.Next(others.Count - 1)) : null;

        // Now and then a payload large enough to travel alone rather than merged with other frames.
        var padding = random.Next(100) < 3 ? 20_000 + random.Next(80_000) : random.Next(64);
        if (from == smallNode)
        {
            // The small node's own calls fit its own limit (a larger one is the caller's ArgumentException, not a finding).
            padding = Math.Min(padding, smallLimit!.Value - 2048);
        }

        var call = Call(grid, ledger, from, to, kind, TimeSpan.FromMilliseconds(20 + random.Next(2000)), relayTo, padding);
        if (random.Next(100) < 8)
        {
            grid.Scheduler.Schedule(TimeSpan.FromMilliseconds(random.Next(2100)), call);
        }
    }

    /// <summary>Makes one call through the grid into the ledger; returns what cancels it as its caller would.</summary>
    private static Action Call(SimulatedGrid grid, CallLedger ledger, string from, string to, CallKind kind, TimeSpan deadline,
        string? relayTo = null, int padding = 0)
    {
        var call = ledger.Open(from, to, kind, deadline, grid.Random.Next().ToString("x8", CultureInfo.InvariantCulture), relayTo, padding);
        call.StartedAt = grid.Scheduler.Now;
        var handler = kind switch
        {
            CallKind.Echo or CallKind.Probe => SimulationHandlers.Echo,
            CallKind.Fail => SimulationHandlers.Fail,
            CallKind.Hang => SimulationHandlers.Hang,
            CallKind.Relay => SimulationHandlers.Relay,
            _ => SimulationHandlers.Missing,
        };
        var subscription = grid.Request(from, to, handler, Encoding.UTF8.GetBytes(call.Payload), deadline).Subscribe(call);
        return () =>
        {
            call.Cancel();
            subscription.Dispose();
        };
    }

    private static string Unconnected(SimulatedGrid grid) => string.Join(", ", grid.Nodes
        .Where(grid.IsUp)
        .SelectMany(n => grid[n].Connections.Where(c => c.State != ConnectionState.Connected))
        .Select(c => c.ToString()));
}
