using System.Globalization;
using Grid.Reactive.Benchmarks.GridSystem;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.SignalRSystem;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>
/// Scenario 5: bytes allocated per single request round trip and per stream message, both sides together: the
/// process-wide <see cref="GC.GetTotalAllocatedBytes(bool)"/> delta over the measured window divided by the
/// operations in it. The harness itself allocates nothing per call (preallocated payloads and histograms). Request runs
/// also record the thread-pool work items per round trip of the same window.
/// </summary>
public sealed class AllocScenario : IScenario
{
    private const string Metric = "alloc_bytes_per_op";
    private const string BeyondPayloads = "alloc_bytes_per_op_beyond_payloads";
    private const int PayloadSize = 512;
    private static readonly string[] Metrics = [Metric];
    private static readonly string[] RequestMetrics = [Metric, RequestRuns.WorkItemsMetric];

    /// <summary>A 512-byte array as the runtime lays it out: header, length and data, 8-byte aligned.</summary>
    private static readonly int PayloadArrayBytes = (IntPtr.Size == 8 ? 24 : 12) + PayloadSize;

    /// <inheritdoc />
    public string Name => "alloc";

    /// <inheritdoc />
    public string Description => "allocated bytes per request round trip (c=1, c=64) and per stream message, both sides";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int[] concurrencies = context.Smoke ? [1] : [1, 64];
        var systems = new List<(IEchoSystem System, string Op)>();
        foreach (var system in context.EchoSystems.Where(s => s.MaxConcurrency > 1))
        {
            systems.Add((system, "request"));
            if (system is GridEchoSystem)
            {
                systems.Add((new GridEchoSystem(GridCallStyle.Observer, context.Tls), "request-observer"));
            }
        }

        foreach (var (system, op) in systems)
        {
            var levels = concurrencies.Where(c => c <= system.MaxConcurrency).ToArray();
            string Param(int c) => string.Create(CultureInfo.InvariantCulture, $"op={op},c={c}");
            var cluster = await RequestRuns.StartAsync(context, Name, system, 2, levels.Max(), levels.Select(Param), RequestMetrics);
            if (cluster is null)
            {
                continue;
            }

            try
            {
                var client = cluster.Client(0, 1);
                foreach (var c in levels)
                {
                    using var sampler = context.Options.AllocationTypes ? new AllocationSampler() : null;
                    sampler?.Start();
                    var result = await RequestRuns.RunCheckedAsync(context, Name, system.Name, Param(c), Param(c), c, (int _, ref ulong _) => client, RequestMetrics,
                        context.Options.Requests.OneRound());
                    if (sampler is not null)
                    {
                        context.Results.Note($"alloc {system.Name} {Param(c)} allocates most: {AllocationSampler.Describe(sampler.Stop(8))}");
                    }

                    if (result is null)
                    {
                        continue;
                    }

                    context.Results.Add(Name, system.Name, Param(c), Metric, result.AllocatedPerOp);
                    context.Results.Add(Name, system.Name, Param(c), RequestRuns.WorkItemsMetric, result.WorkItemsPerOp);
                    if (system is GridEchoSystem or SignalREchoSystem)
                    {
                        context.Results.Add(Name, system.Name, Param(c), BeyondPayloads, result.AllocatedPerOp - (2 * PayloadArrayBytes));
                    }
                }
            }
            finally
            {
                await RequestRuns.StopAsync(context, cluster, system.Name);
            }
        }

        await RunStreamsAsync(context);
        context.Results.Note(string.Create(CultureInfo.InvariantCulture,
            $"alloc: whole-process allocation over the measured window per operation, both sides. {BeyondPayloads} subtracts the two {PayloadSize} B payload arrays the grid (and SignalR, whose MessagePack protocol deserializes a new array on each side) hands to user code per round trip (the handler's request and the caller's answer, {PayloadArrayBytes} B each), and per grid stream message the two arrays of a message (the one the producer hands to SendAsync, which the API does not copy, and the one the observer receives). tcp-raw (a latency floor) is left out. op=request awaits the observable (Rx's awaiter included); op=request-observer subscribes a reusable observer (the library's own cost). {RequestRuns.WorkItemsMetric}: thread-pool work items completed in the window per round trip, both sides."));
    }

    private async Task RunStreamsAsync(BenchContext context)
    {
        const string param = "op=stream-msg,size=512";
        foreach (var system in context.StreamSystems)
        {
            var target = await StreamRuns.StartAsync(context, Name, system, [param], Metrics);
            if (target is null)
            {
                continue;
            }

            try
            {
                using var sampler = context.Options.AllocationTypes ? new AllocationSampler() : null;
                sampler?.Start();
                var result = await StreamRuns.RunCheckedAsync(context, Name, system.Name, param, target,
                    (sink, stop) => target.ReceiveAsync(PayloadSize, StreamScenario.Window, sink, stop), PayloadSize, context.Options.Streams.OneRound(), Metrics);
                if (sampler is not null)
                {
                    context.Results.Note($"alloc {system.Name} {param} allocates most: {AllocationSampler.Describe(sampler.Stop(8))}");
                }

                if (result is not null)
                {
                    context.Results.Add(Name, system.Name, param, Metric, result.AllocatedPerMessage);
                    if (system is GridStreamSystem)
                    {
                        context.Results.Add(Name, system.Name, param, BeyondPayloads, result.AllocatedPerMessage - (2 * PayloadArrayBytes));
                    }
                }
            }
            finally
            {
                await StreamRuns.StopAsync(context, target, system.Name);
            }
        }
    }
}
