using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.GridSystem;

/// <summary>
/// Grid.Reactive over its real transport: one <see cref="Manager"/> per node on a free 127.0.0.1 port, all in this
/// process, each connected to every other by one WebSocket (<see cref="WebSocketTransport"/>), default settings
/// (including the reconnect backoff), shared-secret handshake. Every node serves an echo handler. With TLS: the
/// transport's <see cref="GridTlsOptions"/> with the run's node certificate and its CA pinned (channel binding on, the
/// default).
/// </summary>
/// <param name="style">How the client waits for answers.</param>
/// <param name="tls">The certificates of a TLS run, or null.</param>
public sealed class GridEchoSystem(GridCallStyle style = GridCallStyle.Await, BenchTls? tls = null) : IEchoSystem
{
    /// <summary>The echo handler's id.</summary>
    public static readonly HandlerId Echo = new(1);

    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("grid-reactive-benchmark-shared-secret");

    /// <inheritdoc />
    public string Name => "grid";

    /// <inheritdoc />
    public int MaxNodes => 64;

    /// <inheritdoc />
    public int MaxConcurrency => int.MaxValue;

    /// <summary>How the client waits for answers.</summary>
    public GridCallStyle Style => style;

    /// <inheritdoc />
    public async Task<IEchoCluster> StartAsync(int nodes, int lanes, CancellationToken cancellationToken)
    {
        var cluster = new Cluster(nodes, style, lanes, NewTransport(tls));
        try
        {
            await cluster.StartAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until every connection of <paramref name="manager"/> is connected.</summary>
    public static Task AllConnectedAsync(Manager manager, TimeSpan timeout) =>
        manager.Connections
            .Select(c => c.FirstAsync(s => s == ConnectionState.Connected))
            .Merge()
            .DefaultIfEmpty()
            .LastAsync()
            .Timeout(timeout)
            .ToTask();

    /// <summary>The WebSocket transport: defaults, or with TLS the run's certificates (see the class summary).</summary>
    public static WebSocketTransport NewTransport(BenchTls? tls) =>
        tls is null ? new WebSocketTransport() : new WebSocketTransport(new WebSocketTransportOptions { Tls = tls.GridOptions });

    /// <summary>A node with the echo handler, not started.</summary>
    public static Manager NewNode(string address, IReadOnlyCollection<string> addresses, GridTransport transport)
    {
        var node = new Manager(new ManagerOptions
        {
            Address = address,
            Remotes = addresses,
            Transport = transport,
            Authenticator = new SharedSecretAuthenticator(Secret),
        });
        node.Register(Echo, static (payload, _) => ValueTask.FromResult(payload));
        return node;
    }

    private sealed class Cluster(int nodes, GridCallStyle style, int lanes, WebSocketTransport transport) : IEchoCluster
    {
        private readonly string[] _addresses = new string[nodes];
        private readonly Manager?[] _managers = new Manager?[nodes];
        private readonly GridEchoClient?[,] _clients = new GridEchoClient?[nodes, nodes];
        private readonly CountingTransport _transport = new(transport);

        public bool CanCut => true;

        public SendCount? Sends => _transport.Sends;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            for (var i = 0; i < nodes; i++)
            {
                _addresses[i] = $"127.0.0.1:{Ports.Free()}";
            }

            // Which node of a pair dials follows from the two addresses; fix it so that node 0 dials node 1, as a
            // gRPC client dials its server (the link-cut scenario depends on it).
            if (nodes >= 2 && !Connections.DialDirection.ShouldDial(_addresses[0], _addresses[1]))
            {
                (_addresses[0], _addresses[1]) = (_addresses[1], _addresses[0]);
            }

            for (var i = 0; i < nodes; i++)
            {
                _managers[i] = NewNode(_addresses[i], _addresses, _transport);
            }

            foreach (var manager in _managers)
            {
                await manager!.StartAsync(cancellationToken);
            }

            foreach (var manager in _managers)
            {
                await AllConnectedAsync(manager!, TimeSpan.FromSeconds(30));
            }

            for (var from = 0; from < nodes; from++)
            {
                for (var to = 0; to < nodes; to++)
                {
                    if (from != to)
                    {
                        _clients[from, to] = new GridEchoClient(_managers[from]!.Connection(_addresses[to]), style, lanes);
                    }
                }
            }
        }

        public IEchoClient Client(int from, int to) =>
            _clients[from, to] ?? throw new ArgumentException($"No client from node {from} to node {to}.");

        public async Task CutAsync(int node, CancellationToken cancellationToken)
        {
            if (_managers[node] is { } old)
            {
                _managers[node] = null;
                await old.DisposeAsync();
            }

            var restarted = NewNode(_addresses[node], _addresses, _transport);
            _managers[node] = restarted;
            for (var to = 0; to < nodes; to++)
            {
                if (to != node)
                {
                    _clients[node, to] = new GridEchoClient(restarted.Connection(_addresses[to]), style, lanes);
                }
            }

            await restarted.StartAsync(cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var manager in _managers)
            {
                if (manager is not null)
                {
                    await manager.DisposeAsync();
                }
            }
        }
    }
}
