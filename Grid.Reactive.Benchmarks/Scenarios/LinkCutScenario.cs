using System.Diagnostics;
using Grid.Reactive.Benchmarks.GridSystem;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>
/// Scenario 7: link cut. One node calls another continuously; the other is shut down (every link cut) and started
/// again at the same address; the figure is the time from the cut to the caller's first successful call, with each
/// system's own default reconnect behaviour (the grid's backoff, the gRPC channel's).
/// </summary>
/// <remarks>
/// <c>cut=acceptor</c>: the caller is the side that dials (node 0 dials node 1 in the grid cluster; a gRPC client
/// always dials), so it must notice the loss and redial. <c>cut=dialer</c> (grid only: one link per pair, dialed by one
/// side): the restarted node is the one that dials, and dials as soon as it starts.
/// </remarks>
public sealed class LinkCutScenario : IScenario
{
    private static readonly string[] Metrics = ["recover_ms", "recover_max_ms"];
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public string Name => "link-cut";

    /// <inheritdoc />
    public string Description => "restart the remote node: time from the cut to requests succeeding again (p50, max)";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var system in context.EchoSystems.Where(s => s.MaxConcurrency > 1))
        {
            var shared = system is GridEchoSystem;
            string[] parameters = shared ? ["cut=acceptor", "cut=dialer"] : ["cut=acceptor"];
            var cluster = await RequestRuns.StartAsync(context, Name, system, 2, 1, parameters, Metrics);
            if (cluster is null)
            {
                continue;
            }

            try
            {
                if (!cluster.CanCut)
                {
                    context.Results.NotAvailable(Name, system.Name, "cut=acceptor", Metrics, "no reconnect layer");
                    continue;
                }

                await MeasureAsync(context, system.Name, "cut=acceptor", cluster, caller: 0, cut: 1);
                if (shared)
                {
                    await MeasureAsync(context, system.Name, "cut=dialer", cluster, caller: 1, cut: 0);
                }
            }
            finally
            {
                await RequestRuns.StopAsync(context, cluster, system.Name);
            }
        }

        context.Results.Note($"link-cut: {context.Options.LinkCuts} cuts each; the cut shuts the remote node down (grid: Manager.DisposeAsync; grpc and signalr: Kestrel stopped, connections aborted) and starts a new one on the same port at once; recovery includes that restart and the default reconnect behaviour. cut=acceptor: the surviving caller dials (grid: after its reconnect backoff, 50 ms ± 20 % for the first redial; grpc: its channel's own; signalr: the HubConnection's WithAutomaticReconnect() defaults, retries after 0, 2, 10 and 30 s); cut=dialer (grid only): the restarted node dials as it starts.");
    }

    private async Task MeasureAsync(BenchContext context, string system, string param, IEchoCluster cluster, int caller, int cut)
    {
        var client = cluster.Client(caller, cut);
        var payload = Payloads.Create(512, 0);
        var recoveries = new List<double>();
        for (var i = 0; i < context.Options.LinkCuts; i++)
        {
            if (await FirstSuccessAsync(client, payload, Stopwatch.GetTimestamp() + Ticks(GiveUp)) is null)
            {
                context.Results.Failed(Name, system, param, Metrics, "no call succeeded before the cut");
                return;
            }

            var cutAt = Stopwatch.GetTimestamp();
            await cluster.CutAsync(cut, BenchContext.StartTimeout);
            if (await FirstSuccessAsync(client, payload, cutAt + Ticks(GiveUp)) is not { } recovered)
            {
                context.Results.Failed(Name, system, param, Metrics, $"no call succeeded within {GiveUp.TotalSeconds} s of cut {i + 1}");
                return;
            }

            var milliseconds = (recovered - cutAt) * 1000.0 / Stopwatch.Frequency;
            recoveries.Add(milliseconds);
            context.Progress($"{Name} {system} {param} cut {i + 1}/{context.Options.LinkCuts}: requests succeed again after {BenchContext.F(milliseconds)} ms");
            await Task.Delay(200);
        }

        context.Results.Add(Name, system, param, "recover_ms", LoadResult.Median(recoveries));
        context.Results.Add(Name, system, param, "recover_max_ms", recoveries.Max());
    }

    /// <summary>Calls until one call succeeds (returns when it completed) or the deadline passes (returns null).</summary>
    private static async Task<long?> FirstSuccessAsync(IEchoClient client, byte[] payload, long deadline)
    {
        long sequence = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            Payloads.Stamp(payload, ++sequence);
            try
            {
                var answer = await client.EchoAsync(0, payload).AsTask().WaitAsync(CallTimeout);
                if (Payloads.IsEcho(answer.Span, payload, sequence))
                {
                    return Stopwatch.GetTimestamp();
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Expected while the link is down.
            }

            await Task.Delay(1);
        }

        return null;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
