using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>One system's load for a parameter: its name, how many workers, and the client each call goes through.</summary>
/// <param name="System">The system's name.</param>
/// <param name="Lanes">Workers, one call in flight each.</param>
/// <param name="Pick">The client of each call.</param>
/// <param name="Sends">Reads the system's send counters (<see cref="IEchoCluster.Sends"/>), or null.</param>
public sealed record RequestEntry(string System, int Lanes, ClientPicker Pick, Func<SendCount?>? Sends = null);

/// <summary>What the request scenarios share: starting a system, running a load on it, recording or failing.</summary>
public static class RequestRuns
{
    /// <summary>Thread-pool work items completed per round trip, both sides (see <see cref="LoadResult.WorkItemsPerOp"/>).</summary>
    public const string WorkItemsMetric = "threadpool_items_per_op";

    /// <summary>The latency, rate and thread-pool metrics of a request run.</summary>
    public static readonly string[] RateMetrics = ["req_per_s", "p50_us", "p99_us", WorkItemsMetric];

    /// <summary>
    /// Where a request run's time goes, per call and for the whole process (both ends of every call are in it): costs
    /// that hold when other work shares the machine, unlike the rate.
    /// </summary>
    public static readonly string[] BreakdownMetrics =
        ["cpu_us_per_op", "kernel_us_per_op", "ctx_switches_per_op", "alloc_bytes_per_op", "sends_per_op", "frames_per_send", "pool_threads"];

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
    /// Runs the loads of several systems for one parameter, in turns round by round (see <see cref="Durations"/>), and
    /// returns each system's combined result. A system that fails a round is recorded as failed and left out.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, LoadResult>> RunRoundsAsync(BenchContext context, string scenario, string param,
        IReadOnlyList<RequestEntry> entries, IEnumerable<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(entries);
        var durations = context.Options.Requests;
        var rounds = entries.ToDictionary(e => e.System, _ => new List<LoadResult>());
        for (var round = 1; round <= durations.Rounds; round++)
        {
            var label = durations.Rounds == 1 ? "" : $" round {round}/{durations.Rounds}";
            foreach (var entry in entries.Where(e => rounds.ContainsKey(e.System)))
            {
                var result = await RunCheckedAsync(context, scenario, entry.System, param + label, param, entry.Lanes, entry.Pick, metrics, durations, entry.Sends);
                if (result is null)
                {
                    rounds.Remove(entry.System);
                }
                else
                {
                    rounds[entry.System].Add(result);
                }
            }
        }

        return rounds.ToDictionary(r => r.Key, r => LoadResult.Combine(r.Value));
    }

    /// <summary>
    /// Runs one closed-loop load and checks it: a run with any wrong or failed call, or none at all, is recorded as a
    /// failure (under <paramref name="param"/>) and yields null, so a broken system never reports a speed.
    /// </summary>
    public static async Task<LoadResult?> RunCheckedAsync(BenchContext context, string scenario, string system, string label, string param,
        int lanes, ClientPicker pick, IEnumerable<string> metrics, Durations durations, Func<SendCount?>? sends = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(durations);
        context.Progress($"{scenario} {system} {label}: {durations} ...");
        LoadResult result;
        try
        {
            result = await RequestLoad.RunAsync(lanes, 512, pick, durations, sends);
        }
        catch (Exception ex)
        {
            context.Results.Failed(scenario, system, param, metrics, $"{ex.GetType().Name}: {ex.Message}");
            return null;
        }

        if (result.Errors > 0 || result.Ops == 0)
        {
            var why = result.Errors > 0 ? $"{result.Errors} failed calls, first: {result.FirstError}" : "no call completed";
            context.Progress($"{scenario} {system} {label}: FAILED: {why}");
            context.Results.Failed(scenario, system, param, metrics, why);
            return null;
        }

        context.Progress($"{scenario} {system} {label}: {BenchContext.F(result.PerSecond)} req/s, p50 {BenchContext.F(result.Latency.MicrosAtQuantile(0.5))} us, p99 {BenchContext.F(result.Latency.MicrosAtQuantile(0.99))} us, {BenchContext.F(result.AllocatedPerOp)} B/op, {BenchContext.F(result.WorkItemsPerOp)} pool items/op, {BenchContext.F(result.CpuMicrosPerOp)} us CPU/op ({BenchContext.F(result.KernelMicrosPerOp)} kernel), {BenchContext.F(result.ContextSwitchesPerOp)} switches/op{(result.Sends is null ? "" : $", {BenchContext.F(result.SendsPerOp)} sends/op, {BenchContext.F(result.FramesPerSend)} frames/send")}");
        return result;
    }

    /// <summary>Records requests/s, the p50 and p99 latencies and the thread-pool work items per call of a run.</summary>
    public static void RecordRates(BenchContext context, string scenario, string system, string param, LoadResult result)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(result);
        context.Results.Add(scenario, system, param, "req_per_s", result.PerSecond);
        context.Results.Add(scenario, system, param, "p50_us", result.Latency.MicrosAtQuantile(0.5));
        context.Results.Add(scenario, system, param, "p99_us", result.Latency.MicrosAtQuantile(0.99));
        context.Results.Add(scenario, system, param, WorkItemsMetric, result.WorkItemsPerOp);
    }

    /// <summary>Records where a run's time went (<see cref="BreakdownMetrics"/>); send figures only for systems that count sends.</summary>
    public static void RecordBreakdown(BenchContext context, string scenario, string system, string param, LoadResult result)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(result);
        context.Results.Add(scenario, system, param, "cpu_us_per_op", result.CpuMicrosPerOp);
        context.Results.Add(scenario, system, param, "kernel_us_per_op", result.KernelMicrosPerOp);
        context.Results.Add(scenario, system, param, "ctx_switches_per_op", result.ContextSwitchesPerOp);
        context.Results.Add(scenario, system, param, "alloc_bytes_per_op", result.AllocatedPerOp);
        context.Results.Add(scenario, system, param, "sends_per_op", result.SendsPerOp);
        context.Results.Add(scenario, system, param, "frames_per_send", result.FramesPerSend);
        context.Results.Add(scenario, system, param, "pool_threads", result.PoolThreads);
    }

    /// <summary>Records the figures of every system that completed its rounds.</summary>
    public static void RecordRates(BenchContext context, string scenario, string param, IReadOnlyDictionary<string, LoadResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        foreach (var (system, result) in results)
        {
            RecordRates(context, scenario, system, param, result);
        }
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
