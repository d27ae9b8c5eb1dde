using System.Runtime.CompilerServices;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;

namespace Grid.Reactive.Benchmarks.SignalRSystem;

/// <summary>
/// ASP.NET Core SignalR: every node serves <see cref="BenchHub"/> on Kestrel (WebSockets, MessagePack hub protocol,
/// default hub options), and every node has <see cref="ConnectionsPerPair"/> <see cref="HubConnection"/>s (one by
/// default) to each other node (see <see cref="SignalRClient"/>). Requests are
/// <c>InvokeAsync&lt;byte[]&gt;("Echo", payload)</c>; with several connections lane <c>i</c> calls through connection
/// <c>i % ConnectionsPerPair</c>.
/// </summary>
/// <param name="connectionsPerPair">HubConnections per ordered pair of nodes (at most one per lane).</param>
/// <param name="tls">The certificates of a TLS run (HTTPS, wss), or null.</param>
public sealed class SignalREchoSystem(int connectionsPerPair = SignalREchoSystem.DefaultConnectionsPerPair, BenchTls? tls = null) : IEchoSystem
{
    /// <summary>
    /// HubConnections per ordered pair by default: one, as a HubConnection is thread-safe and multiplexes invocations
    /// (and as the grid has one WebSocket per pair). Spreading lanes over 2, 4 or 8 connections
    /// (<c>--signalr-connections</c>) did not raise c=16/64/256 throughput on the 2-core machine, only its spread.
    /// </summary>
    public const int DefaultConnectionsPerPair = 1;

    /// <inheritdoc />
    public string Name => "signalr";

    /// <inheritdoc />
    public int MaxNodes => 64;

    /// <inheritdoc />
    public int MaxConcurrency => int.MaxValue;

    /// <summary>HubConnections per ordered pair of nodes.</summary>
    public int ConnectionsPerPair { get; } = connectionsPerPair > 0 ? connectionsPerPair
        : throw new ArgumentOutOfRangeException(nameof(connectionsPerPair), "At least one connection per pair.");

    /// <inheritdoc />
    public async Task<IEchoCluster> StartAsync(int nodes, int lanes, CancellationToken cancellationToken)
    {
        var cluster = new Cluster(nodes, Math.Clamp(lanes, 1, ConnectionsPerPair), tls);
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

    private sealed class Cluster(int nodes, int connectionsPerPair, BenchTls? tls) : IEchoCluster
    {
        private readonly int[] _ports = new int[nodes];
        private readonly WebApplication?[] _servers = new WebApplication?[nodes];
        private readonly EchoClient?[,] _clients = new EchoClient?[nodes, nodes];
        private readonly StreamCounters _counters = new();

        public bool CanCut => true;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            for (var i = 0; i < nodes; i++)
            {
                _ports[i] = Ports.Free();
                _servers[i] = await SignalRServer.StartAsync(_ports[i], _counters, tls, cancellationToken);
            }

            for (var from = 0; from < nodes; from++)
            {
                for (var to = 0; to < nodes; to++)
                {
                    if (from != to)
                    {
                        var connections = new HubConnection[connectionsPerPair];
                        _clients[from, to] = new EchoClient(connections);
                        for (var i = 0; i < connections.Length; i++)
                        {
                            connections[i] = await SignalRClient.ConnectAsync(_ports[to], tls, cancellationToken);
                        }
                    }
                }
            }
        }

        public IEchoClient Client(int from, int to) =>
            _clients[from, to] ?? throw new ArgumentException($"No client from node {from} to node {to}.");

        public async Task CutAsync(int node, CancellationToken cancellationToken)
        {
            if (_servers[node] is { } server)
            {
                _servers[node] = null;
                await KestrelHost.StopAsync(server, TimeSpan.Zero);
            }

            _servers[node] = await SignalRServer.StartAsync(_ports[node], _counters, tls, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in _clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }

            foreach (var server in _servers)
            {
                if (server is not null)
                {
                    await KestrelHost.StopAsync(server, TimeSpan.FromSeconds(1));
                }
            }
        }
    }

    private sealed class EchoClient(HubConnection[] connections) : IEchoClient, IAsyncDisposable
    {
        // Pooled, so that the benchmark's own adapter allocates nothing per call: what is left is SignalR's.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<ReadOnlyMemory<byte>> EchoAsync(int lane, byte[] payload) =>
            await connections[lane % connections.Length].InvokeAsync<byte[]>(nameof(BenchHub.Echo), payload);

        public async ValueTask DisposeAsync()
        {
            foreach (var connection in connections)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }
            }
        }
    }
}
