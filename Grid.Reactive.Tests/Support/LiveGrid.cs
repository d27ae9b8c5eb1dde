using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;

namespace Grid.Reactive.Tests.Support;

/// <summary>
/// Two or more managers on the real <see cref="DefaultScheduler"/> and real threads over an in-memory network without
/// latency: boundary values and races that virtual time cannot show, without sockets.
/// </summary>
public sealed class LiveGrid : IAsyncDisposable
{
    /// <summary>Turns a hang into a failure; never a timing assertion.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private LiveGrid(Manager[] nodes, CapturingLogger log, InMemoryNetwork network)
    {
        Nodes = nodes;
        Network = network;
        Log = log;
    }

    public Manager[] Nodes { get; }

    public InMemoryNetwork Network { get; }

    /// <summary>Every node's log lines.</summary>
    public CapturingLogger Log { get; }

    public static async Task<LiveGrid> StartAsync(int count = 2, Func<ManagerOptions, ManagerOptions>? configure = null, Action<Manager>? setup = null)
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        var log = new CapturingLogger();
        var addresses = Enumerable.Range(0, count).Select(i => "live-" + i).ToArray();
        var nodes = addresses.Select(address => new Manager((configure ?? (o => o))(new ManagerOptions
        {
            Address = address,
            Remotes = addresses,
            Transport = network,
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            Logger = log,
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(100) },
        }))).ToArray();
        foreach (var node in nodes)
        {
            TestHandlers.RegisterBasics(node);
            setup?.Invoke(node);
            await node.StartAsync();
        }

        await Task.WhenAll(nodes.SelectMany(n => n.Connections)
            .Select(c => c.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(Guard)));
        return new LiveGrid(nodes, log, network);
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
