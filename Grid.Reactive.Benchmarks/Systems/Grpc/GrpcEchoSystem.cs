using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Grid.Reactive.Benchmarks.Grpc;

/// <summary>
/// gRPC for .NET: every node is a Grpc.AspNetCore server on Kestrel (h2c on loopback), and every node has one
/// <see cref="GrpcChannel"/> per other node (a channel per ordered pair), all with default settings. Unary calls.
/// With TLS: HTTPS (ALPN h2) and channels trusting the run's CA (<see cref="GrpcServer.OpenChannel"/>).
/// </summary>
/// <param name="tls">The certificates of a TLS run, or null.</param>
public sealed class GrpcEchoSystem(BenchTls? tls = null) : IEchoSystem
{
    /// <inheritdoc />
    public string Name => "grpc";

    /// <inheritdoc />
    public int MaxNodes => 64;

    /// <inheritdoc />
    public int MaxConcurrency => int.MaxValue;

    /// <inheritdoc />
    public async Task<IEchoCluster> StartAsync(int nodes, int lanes, CancellationToken cancellationToken)
    {
        var cluster = new GrpcCluster(nodes, tls);
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

    private sealed class GrpcCluster(int nodes, BenchTls? tls) : IEchoCluster
    {
        private readonly int[] _ports = new int[nodes];
        private readonly WebApplication?[] _servers = new WebApplication?[nodes];
        private readonly GrpcChannel?[,] _channels = new GrpcChannel?[nodes, nodes];
        private readonly GrpcEchoClient?[,] _clients = new GrpcEchoClient?[nodes, nodes];
        private readonly StreamCounters _counters = new();

        public bool CanCut => true;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            for (var i = 0; i < nodes; i++)
            {
                _ports[i] = Ports.Free();
                _servers[i] = await GrpcServer.StartAsync(_ports[i], _counters, tls, cancellationToken);
            }

            for (var from = 0; from < nodes; from++)
            {
                for (var to = 0; to < nodes; to++)
                {
                    if (from != to)
                    {
                        var channel = GrpcServer.OpenChannel(_ports[to], tls);
                        await channel.ConnectAsync(cancellationToken);
                        _channels[from, to] = channel;
                        _clients[from, to] = new GrpcEchoClient(new Bench.BenchClient(channel));
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

            _servers[node] = await GrpcServer.StartAsync(_ports[node], _counters, tls, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var channel in _channels)
            {
                channel?.Dispose();
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

    private sealed class GrpcEchoClient(Bench.BenchClient client) : IEchoClient
    {
        // Pooled, so that the benchmark's own adapter allocates nothing per call: what is left is gRPC's.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<ReadOnlyMemory<byte>> EchoAsync(int lane, byte[] payload)
        {
            // The request wraps the caller's array without copying it, as the grid does.
            var reply = await client.EchoAsync(new Chunk { Data = UnsafeByteOperations.UnsafeWrap(payload) });
            return reply.Data.Memory;
        }
    }
}
