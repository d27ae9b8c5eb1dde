using System.Diagnostics;
using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>
/// Scenario 7: link cut. Node 0 calls node 1 continuously; node 1 is shut down (every link cut) and started again at
/// the same address; the figure is the time from the cut to node 0's first successful call, with each system's own
/// default reconnect behaviour (the grid's backoff, the gRPC channel's).
/// </summary>
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
        var cuts = context.Options.LinkCuts;
        var param = string.Create(CultureInfo.InvariantCulture, $"cuts={cuts}");
        foreach (var system in context.EchoSystems.Where(s => s.MaxConcurrency > 1))
        {
            var cluster = await RequestRuns.StartAsync(context, Name, system, 2, 1, [param], Metrics);
            if (cluster is null)
            {
                continue;
            }

            try
            {
                if (!cluster.CanCut)
                {
                    context.Results.NotAvailable(Name, system.Name, param, Metrics, "no reconnect layer");
                    continue;
                }

                await MeasureAsync(context, system.Name, param, cluster, cuts);
            }
            finally
            {
                await RequestRuns.StopAsync(context, cluster, system.Name);
            }
        }

        context.Results.Note("link-cut: the cut shuts the remote node down (grid: Manager.DisposeAsync; grpc: Kestrel stopped, connections aborted) and starts a new one on the same port at once; recovery includes that restart and each client's default reconnect backoff.");
    }

    private async Task MeasureAsync(BenchContext context, string system, string param, IEchoCluster cluster, int cuts)
    {
        var client = cluster.Client(0, 1);
        var payload = Payloads.Create(512, 0);
        var recoveries = new List<double>();
        for (var cut = 0; cut < cuts; cut++)
        {
            if (await FirstSuccessAsync(client, payload, Stopwatch.GetTimestamp() + Ticks(GiveUp)) is null)
            {
                context.Results.Failed(Name, system, param, Metrics, "no call succeeded before the cut");
                return;
            }

            var cutAt = Stopwatch.GetTimestamp();
            await cluster.CutAsync(1, BenchContext.StartTimeout);
            var recovered = await FirstSuccessAsync(client, payload, cutAt + Ticks(GiveUp));
            if (recovered is not { } at)
            {
                context.Results.Failed(Name, system, param, Metrics, $"no call succeeded within {GiveUp.TotalSeconds} s of cut {cut + 1}");
                return;
            }

            var milliseconds = (at - cutAt) * 1000.0 / Stopwatch.Frequency;
            recoveries.Add(milliseconds);
            context.Progress($"{Name} {system} cut {cut + 1}/{cuts}: requests succeed again after {BenchContext.F(milliseconds)} ms");
            await Task.Delay(200);
        }

        recoveries.Sort();
        context.Results.Add(Name, system, param, "recover_ms", recoveries[(recoveries.Count - 1) / 2]);
        context.Results.Add(Name, system, param, "recover_max_ms", recoveries[^1]);
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
