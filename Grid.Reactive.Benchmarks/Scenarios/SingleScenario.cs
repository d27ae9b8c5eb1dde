using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>Scenario 1: single request echo (512 B) over one connection at concurrency 1, 16, 64 and 256.</summary>
public sealed class SingleScenario : IScenario
{
    /// <inheritdoc />
    public string Name => "single";

    /// <inheritdoc />
    public string Description => "single request echo, 512 B, one connection, concurrency 1/16/64/256: req/s, p50, p99, pool items per call";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int[] concurrencies = context.Smoke ? [1, 64] : [1, 16, 64, 256];
        var started = new List<(IEchoSystem System, IEchoCluster Cluster)>();
        try
        {
            foreach (var system in context.EchoSystems)
            {
                var levels = concurrencies.Where(c => c <= system.MaxConcurrency).ToArray();
                var cluster = await RequestRuns.StartAsync(context, Name, system, 2, levels.Max(), levels.Select(Param), RequestRuns.RateMetrics);
                if (cluster is not null)
                {
                    started.Add((system, cluster));
                }
            }

            foreach (var c in concurrencies)
            {
                var entries = started.Where(s => c <= s.System.MaxConcurrency)
                    .Select(s => new RequestEntry(s.System.Name, c, Fixed(s.Cluster.Client(0, 1)), () => s.Cluster.Sends))
                    .ToList();
                var results = await RequestRuns.RunRoundsAsync(context, Name, Param(c), entries, RequestRuns.RateMetrics);
                RequestRuns.RecordRates(context, Name, Param(c), results);
            }
        }
        finally
        {
            foreach (var (system, cluster) in started)
            {
                await RequestRuns.StopAsync(context, cluster, system.Name);
            }
        }

        context.Results.Note("tcp-raw is a one-call-at-a-time ping-pong: it has figures at c=1 only.");
        context.Results.Note($"{RequestRuns.WorkItemsMetric}: ThreadPool.CompletedWorkItemCount over the measured window divided by the round trips completed in it; both sides are in this process, so it counts every hop to the pool of a round trip (socket completions, continuations, queued writes), plus a few per window from the harness and timers.");
    }

    private static ClientPicker Fixed(IEchoClient client) => (int _, ref ulong _) => client;

    private static string Param(int concurrency) => string.Create(CultureInfo.InvariantCulture, $"c={concurrency}");
}
