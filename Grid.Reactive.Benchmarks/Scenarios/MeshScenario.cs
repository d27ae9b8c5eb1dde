using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>
/// Scenario 2: a mesh of 2, 4 and 8 nodes in one process; every call goes between a random pair of distinct nodes,
/// at a fixed total concurrency of 64.
/// </summary>
public sealed class MeshScenario : IScenario
{
    private const int Concurrency = 64;

    /// <inheritdoc />
    public string Name => "mesh";

    /// <inheritdoc />
    public string Description => "mesh of 2/4/8 nodes, random pairs, total concurrency 64: req/s, p50, p99, pool items per call";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int[] sizes = context.Smoke ? [4] : [2, 4, 8];
        foreach (var nodes in sizes)
        {
            var param = string.Create(CultureInfo.InvariantCulture, $"nodes={nodes}");
            var started = new List<(IEchoSystem System, IEchoCluster Cluster)>();
            try
            {
                foreach (var system in context.EchoSystems.Where(s => s.MaxNodes >= nodes && s.MaxConcurrency >= Concurrency))
                {
                    if (await RequestRuns.StartAsync(context, Name, system, nodes, Concurrency, [param], RequestRuns.RateMetrics) is { } cluster)
                    {
                        started.Add((system, cluster));
                    }
                }

                var entries = started.Select(s => new RequestEntry(s.System.Name, Concurrency, RandomPairs(s.Cluster, nodes))).ToList();
                var results = await RequestRuns.RunRoundsAsync(context, Name, param, entries, RequestRuns.RateMetrics);
                RequestRuns.RecordRates(context, Name, param, results);
            }
            finally
            {
                foreach (var (system, cluster) in started)
                {
                    await RequestRuns.StopAsync(context, cluster, system.Name);
                }
            }
        }

        context.Results.Note("mesh: grid has one WebSocket per pair of nodes, used both ways; grpc, signalr and ws-raw have a client (channel / HubConnection / socket) per ordered pair, so with more nodes each ws-raw socket carries fewer calls at once and batches less: there it is a reference, not a ceiling.");
    }

    private static ClientPicker RandomPairs(IEchoCluster cluster, int nodes)
    {
        var clients = new IEchoClient[nodes * nodes];
        for (var from = 0; from < nodes; from++)
        {
            for (var to = 0; to < nodes; to++)
            {
                if (from != to)
                {
                    clients[(from * nodes) + to] = cluster.Client(from, to);
                }
            }
        }

        return (int _, ref ulong random) => RandomPair(clients, nodes, ref random);
    }

    private static IEchoClient RandomPair(IEchoClient[] clients, int nodes, ref ulong random)
    {
        // xorshift64: no allocation, independent per lane.
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        var from = (int)(random % (ulong)nodes);
        var to = (int)((random >> 32) % (ulong)(nodes - 1));
        if (to >= from)
        {
            to++;
        }

        return clients[(from * nodes) + to];
    }
}
