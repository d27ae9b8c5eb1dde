using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Connections;

namespace Grid.Reactive.Tests.Support;

/// <summary>
/// A real node, the acceptor of its pair, on an in-memory network on real threads, and a <see cref="RawPeer"/> as the
/// dialer that has passed the v2 handshake: a test plays an old or misbehaving node frame by frame against it.
/// </summary>
internal sealed class NodeWithRawPeer : IAsyncDisposable
{
    private NodeWithRawPeer(Manager node, RawPeer peer, string dialer)
    {
        Node = node;
        Peer = peer;
        Dialer = dialer;
    }

    public Manager Node { get; }

    public RawPeer Peer { get; }

    /// <summary>The raw peer's address.</summary>
    public string Dialer { get; }

    /// <summary>The node's connection to the raw peer, Connected when <see cref="StartAsync"/> returns.</summary>
    public Connection ToPeer => Node.Connection(Dialer);

    /// <summary>Builds the node (options changed by <paramref name="configure"/>, handlers by <paramref name="setup"/>), starts it and connects the raw peer.</summary>
    public static async Task<NodeWithRawPeer> StartAsync(Func<ManagerOptions, ManagerOptions>? configure = null, Action<Manager>? setup = null)
    {
        var (dialer, acceptor) = ConnectionStateTests.Pair("a", "b");
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        var options = new ManagerOptions
        {
            Address = acceptor,
            Remotes = [dialer, acceptor],
            Transport = network,
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
        };
        var node = new Manager(configure is null ? options : configure(options));
        try
        {
            setup?.Invoke(node);
            await node.StartAsync();
            var peer = await RawPeer.DialAsync(network, dialer, acceptor);
            peer.Handshake(dialer, acceptor, new SharedSecretAuthenticator(VirtualGrid.Secret));
            await node.Connection(dialer).FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
            return new NodeWithRawPeer(node, peer, dialer);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Peer.Closed)
        {
            Peer.Close();
        }

        await Node.DisposeAsync();
    }
}
