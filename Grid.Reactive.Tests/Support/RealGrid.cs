using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Transport;

namespace Grid.Reactive.Tests.Support;

/// <summary>Two or more managers on real loopback WebSockets and real threads, connected before the test runs.</summary>
public sealed class RealGrid : IAsyncDisposable
{
    /// <summary>Turns a hang into a failure; never a timing assertion.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private RealGrid(Manager[] nodes) => Nodes = nodes;

    /// <summary>Two failed dials in a row (so not a start-up race), never connected; the dialer's last error.</summary>
    public static async Task<Exception> DialFailsAsync(Connection dialer)
    {
        await dialer.Where(s => s == ConnectionState.Disconnected).Take(2).ToTask().WaitAsync(Guard);
        Assert.That(dialer.State, Is.Not.EqualTo(ConnectionState.Connected));
        return dialer.LastError!;
    }

    public Manager[] Nodes { get; }

    /// <summary>
    /// A real node's options as the tests use them: the tests' shared secret and a quick redial (20 ms, at most 200 ms);
    /// <paramref name="transport"/> null for plain loopback WebSockets. Vary the rest with <c>with</c>.
    /// </summary>
    public static ManagerOptions Options(string address, IReadOnlyCollection<string> all, GridTransport? transport = null) => new()
    {
        Address = address,
        Remotes = all,
        Transport = transport ?? new WebSocketTransport(),
        Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
        Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
    };

    public static async Task<RealGrid> StartAsync(int count, Action<Manager>? setup = null)
    {
        var addresses = Enumerable.Range(0, count).Select(_ => FreePort.NextAddress()).ToArray();
        var nodes = addresses.Select(address => new Manager(Options(address, addresses))).ToArray();
        foreach (var node in nodes)
        {
            TestHandlers.RegisterBasics(node);
            setup?.Invoke(node);
            await node.StartAsync();
        }

        await Task.WhenAll(nodes.SelectMany(n => n.Connections)
            .Select(c => c.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(Guard)));
        return new RealGrid(nodes);
    }

    public Connection From(int from, int to) => Nodes[from].Connection(Nodes[to].Address);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }
}
