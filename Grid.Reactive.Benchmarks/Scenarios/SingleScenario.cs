using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>Scenario 1: single request echo (512 B) over one connection at concurrency 1, 16, 64 and 256.</summary>
public sealed class SingleScenario : IScenario
{
    /// <inheritdoc />
    public string Name => "single";

    /// <inheritdoc />
    public string Description => "single request echo, 512 B, one connection, concurrency 1/16/64/256: req/s, p50, p99";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int[] concurrencies = context.Smoke ? [1, 64] : [1, 16, 64, 256];
        foreach (var system in context.EchoSystems)
        {
            var levels = concurrencies.Where(c => c <= system.MaxConcurrency).ToArray();
            var parameters = levels.Select(Param).ToArray();
            var cluster = await RequestRuns.StartAsync(context, Name, system, 2, levels.Max(), parameters, RequestRuns.RateMetrics);
            if (cluster is null)
            {
                continue;
            }

            try
            {
                var client = cluster.Client(0, 1);
                foreach (var c in levels)
                {
                    var result = await RequestRuns.RunCheckedAsync(context, Name, system.Name, Param(c), c,
                        (int _, ref ulong _) => client, RequestRuns.RateMetrics);
                    if (result is not null)
                    {
                        RequestRuns.RecordRates(context, Name, system.Name, Param(c), result);
                    }
                }
            }
            finally
            {
                await RequestRuns.StopAsync(context, cluster, system.Name);
            }
        }

        context.Results.Note("tcp-raw is a one-call-at-a-time ping-pong: it has figures at c=1 only.");
    }

    private static string Param(int concurrency) => string.Create(CultureInfo.InvariantCulture, $"c={concurrency}");
}
