using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.WebSockets;

/// <summary>Whole grids on real loopback WebSockets and real threads. Waits are on awaited signals; the guard only turns a hang into a failure.</summary>
public sealed class WebSocketGridTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly List<Manager> _managers = [];

    [TearDown]
    public async Task TearDown()
    {
        foreach (var manager in _managers)
        {
            await manager.DisposeAsync();
        }

        _managers.Clear();
    }

    private Manager Node(string address, IReadOnlyCollection<string> all)
    {
        var manager = new Manager(new ManagerOptions
        {
            Address = address,
            Remotes = all,
            Transport = new WebSocketTransport(),
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
        });
        RegisterBasics(manager);
        _managers.Add(manager);
        return manager;
    }

    private static Task<ConnectionState> Reaches(Connection connection, ConnectionState state) =>
        connection.FirstAsync(s => s == state).ToTask().WaitAsync(Guard);

    [Test]
    public async Task ThreeNodes_AllPairsConnect_RequestsFlowBothWays_AndARestartedNodeIsRedialledByItself()
    {
        var addresses = Enumerable.Range(0, 3).Select(_ => FreePort.NextAddress()).ToArray();
        var nodes = addresses.Select(a => Node(a, addresses)).ToArray();
        foreach (var node in nodes)
        {
            await node.StartAsync();
        }

        await Task.WhenAll(nodes.SelectMany(n => n.Connections).Select(c => Reaches(c, ConnectionState.Connected)));
        foreach (var from in nodes)
        {
            foreach (var connection in from.Connections)
            {
                var answer = await connection.Request(Echo, Bytes(from.Address)).ToTask().WaitAsync(Guard);
                Assert.That(Text(answer), Is.EqualTo($"{connection.RemoteAddress}:{from.Address}"));
            }
        }

        // Each peer must see the restarted node go away and come back: record every state from now on.
        var peers = nodes[..2].Select(n => n.Connection(addresses[2])).ToArray();
        var seen = peers.Select(p => p.Replay()).ToArray();
        using var recording = new System.Reactive.Disposables.CompositeDisposable(seen.Select(s => s.Connect()));
        var cameBack = seen.Select(s => s.SkipWhile(x => x != ConnectionState.Disconnected)
            .FirstAsync(x => x == ConnectionState.Connected).ToTask().WaitAsync(Guard)).ToArray();

        await nodes[2].DisposeAsync();
        _managers.Remove(nodes[2]);
        var restarted = Node(addresses[2], addresses);
        await restarted.StartAsync();
        await Task.WhenAll(cameBack);

        foreach (var peer in nodes[..2])
        {
            var answer = await peer.Connection(addresses[2]).Request(Echo, Bytes("again")).ToTask().WaitAsync(Guard);
            Assert.That(Text(answer), Is.EqualTo($"{addresses[2]}:again"));
            var back = await restarted.Connection(peer.Address).Request(Echo, Bytes("hi")).ToTask().WaitAsync(Guard);
            Assert.That(Text(back), Is.EqualTo($"{peer.Address}:hi"));
        }
    }

    [Test]
    public async Task ASubscriberThatBlocksInOnNext_StallsNoOtherRequestOnItsConnection()
    {
        var addresses = new[] { FreePort.NextAddress(), FreePort.NextAddress() };
        var a = Node(addresses[0], addresses);
        var b = Node(addresses[1], addresses);
        await a.StartAsync();
        await b.StartAsync();
        var connection = a.Connection(addresses[1]);
        await Reaches(connection, ConnectionState.Connected);
        using var gate = new ManualResetEventSlim(false);
        var blockedInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blockedDone = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var blocked = connection.Request(Echo, Bytes("slow")).Subscribe(answer =>
        {
            blockedInside.SetResult();
            gate.Wait(Guard);
            blockedDone.SetResult(Text(answer));
        });
        await blockedInside.Task.WaitAsync(Guard);

        var others = await Task.WhenAll(Enumerable.Range(0, 200)
            .Select(i => connection.Request(Echo, Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToTask()))
            .WaitAsync(Guard);

        Assert.That(blockedDone.Task.IsCompleted, Is.False, "the slow subscriber is still inside OnNext");
        Assert.That(others.Select(Text), Is.EqualTo(Enumerable.Range(0, 200).Select(i => $"{addresses[1]}:{i}")));
        gate.Set();
        Assert.That(await blockedDone.Task.WaitAsync(Guard), Is.EqualTo($"{addresses[1]}:slow"));
    }

    [Test]
    public async Task ManyConcurrentRequests_FromSeveralThreads_AllGetTheirOwnAnswer()
    {
        var addresses = new[] { FreePort.NextAddress(), FreePort.NextAddress() };
        var a = Node(addresses[0], addresses);
        var b = Node(addresses[1], addresses);
        await a.StartAsync();
        await b.StartAsync();
        await Reaches(a.Connection(addresses[1]), ConnectionState.Connected);
        await Reaches(b.Connection(addresses[0]), ConnectionState.Connected);

        var calls = Enumerable.Range(0, 4000).Select(i => Task.Run(async () =>
        {
            var (from, to) = i % 2 == 0 ? (a, addresses[1]) : (b, addresses[0]);
            var answer = await from.Connection(to).Request(Echo, Bytes($"{i}"));
            return (i, Text(answer), to);
        }));
        var results = await Task.WhenAll(calls).WaitAsync(Guard);

        Assert.That(results.All(r => r.Item2 == $"{r.to}:{r.i}"), Is.True);
    }
}
