using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>What the request scenarios share: starting a system, running a load on it, recording or failing.</summary>
public static class RequestRuns
{
    /// <summary>The latency and rate metrics of a request run.</summary>
    public static readonly string[] RateMetrics = ["req_per_s", "p50_us", "p99_us"];

    /// <summary>Starts <paramref name="system"/>, or records the failure for every parameter and returns null.</summary>
    public static async Task<IEchoCluster?> StartAsync(BenchContext context, string scenario, IEchoSystem system, int nodes, int lanes,
        IEnumerable<string> parameters, IEnumerable<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(system);
        try
        {
            return await system.StartAsync(nodes, lanes, BenchContext.StartTimeout);
        }
        catch (Exception ex)
        {
            var error = $"could not start: {ex.GetType().Name}: {ex.Message}";
            context.Progress($"{scenario} {system.Name}: {error}");
            foreach (var param in parameters)
            {
                context.Results.Failed(scenario, system.Name, param, metrics, error);
            }

            return null;
        }
    }

    /// <summary>
    /// Runs one closed-loop load and checks it: a run with any wrong or failed call, or none at all, is recorded as a
    /// failure and yields null, so a broken system never reports a speed.
    /// </summary>
    public static async Task<LoadResult?> RunCheckedAsync(BenchContext context, string scenario, string system, string param,
        int lanes, ClientPicker pick, IEnumerable<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        var durations = context.Options.Requests;
        context.Progress($"{scenario} {system} {param}: {durations} ...");
        LoadResult result;
        try
        {
            result = await RequestLoad.RunAsync(lanes, 512, pick, durations);
        }
        catch (Exception ex)
        {
            context.Results.Failed(scenario, system, param, metrics, $"{ex.GetType().Name}: {ex.Message}");
            return null;
        }

        if (result.Errors > 0 || result.Ops == 0)
        {
            var why = result.Errors > 0 ? $"{result.Errors} failed calls, first: {result.FirstError}" : "no call completed";
            context.Progress($"{scenario} {system} {param}: FAILED: {why}");
            context.Results.Failed(scenario, system, param, metrics, why);
            return null;
        }

        context.Progress($"{scenario} {system} {param}: {BenchContext.F(result.PerSecond)} req/s, p50 {BenchContext.F(result.Latency.MicrosAtQuantile(0.5))} us, p99 {BenchContext.F(result.Latency.MicrosAtQuantile(0.99))} us, {BenchContext.F(result.AllocatedPerOp)} B/op");
        return result;
    }

    /// <summary>Records requests/s and the p50 and p99 latencies of a run.</summary>
    public static void RecordRates(BenchContext context, string scenario, string system, string param, LoadResult result)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(result);
        context.Results.Add(scenario, system, param, "req_per_s", result.PerSecond);
        context.Results.Add(scenario, system, param, "p50_us", result.Latency.MicrosAtQuantile(0.5));
        context.Results.Add(scenario, system, param, "p99_us", result.Latency.MicrosAtQuantile(0.99));
    }

    /// <summary>Stops a cluster; a failure to stop is reported, not thrown.</summary>
    public static async Task StopAsync(BenchContext context, IEchoCluster cluster, string system)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(cluster);
        try
        {
            await cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception ex)
        {
            context.Progress($"{system}: stopping failed: {ex.GetType().Name}: {ex.Message}");
        }
    }
}
