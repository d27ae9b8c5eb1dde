using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.WsRaw;

/// <summary>
/// The ceiling for requests: a bare WebSocket echo server per node and one batching <see cref="WsRawEchoClient"/> per
/// ordered pair. No handshake, no handlers, no deadlines, no reconnect: what the grid would cost if its protocol
/// were free.
/// </summary>
/// <param name="tls">The certificates of a TLS run (HTTPS, wss), or null.</param>
public sealed class WsRawEchoSystem(BenchTls? tls = null) : IEchoSystem
{
    /// <inheritdoc />
    public string Name => "ws-raw";

    /// <inheritdoc />
    public int MaxNodes => 64;

    /// <inheritdoc />
    public int MaxConcurrency => int.MaxValue;

    /// <inheritdoc />
    public async Task<IEchoCluster> StartAsync(int nodes, int lanes, CancellationToken cancellationToken)
    {
        var cluster = new Cluster(nodes);
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                cluster.Servers[i] = await WsRawServer.StartAsync(tls, cancellationToken);
            }

            for (var from = 0; from < nodes; from++)
            {
                for (var to = 0; to < nodes; to++)
                {
                    if (from != to)
                    {
                        cluster.Clients[from, to] = await WsRawEchoClient.ConnectAsync(cluster.Servers[to]!, lanes, cancellationToken);
                    }
                }
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private sealed class Cluster(int nodes) : IEchoCluster
    {
        public WsRawServer?[] Servers { get; } = new WsRawServer?[nodes];

        public WsRawEchoClient?[,] Clients { get; } = new WsRawEchoClient?[nodes, nodes];

        public bool CanCut => false;

        public SendCount? Sends
        {
            get
            {
                long messages = 0, frames = 0;
                foreach (var client in Clients)
                {
                    if (client?.Sends is { } sends)
                    {
                        messages += sends.Messages;
                        frames += sends.Frames;
                    }
                }

                return new SendCount(messages, frames);
            }
        }

        public IEchoClient Client(int from, int to) =>
            Clients[from, to] ?? throw new ArgumentException($"No client from node {from} to node {to}.");

        public Task CutAsync(int node, CancellationToken cancellationToken) =>
            throw new NotSupportedException("The raw WebSocket ceiling has no reconnect layer.");

        public async ValueTask DisposeAsync()
        {
            foreach (var client in Clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }

            foreach (var server in Servers)
            {
                if (server is not null)
                {
                    await server.DisposeAsync();
                }
            }
        }
    }
}
