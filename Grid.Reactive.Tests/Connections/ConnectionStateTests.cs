using Grid.Reactive.Connections;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.VirtualGrid;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Connections;

public sealed class ConnectionStateTests
{
    internal static (string Dialer, string Acceptor) Pair(string x, string y) =>
        DialDirection.ShouldDial(x, y) ? (x, y) : (y, x);

    [Test]
    public async Task Connect_TwoNodes_StatesFollowTheHandshakeHops()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]);
        var dialerStates = grid.Scheduler.CreateObserver<ConnectionState>();
        var acceptorStates = grid.Scheduler.CreateObserver<ConnectionState>();

        grid.StartAll();
        grid[dialer].Connection(acceptor).Subscribe(dialerStates);
        grid[acceptor].Connection(dialer).Subscribe(acceptorStates);
        grid.RunMs(10);

        // Dialing starts on the scheduler (tick 1); Connect (the hello) is flushed (tick 2) and lands 1 ms later; the
        // challenge is flushed (one more tick) and lands back after another millisecond; then the dialer's proof goes
        // out the same way, the acceptor opens, and its proof comes back: four hops, each a flush and 1 ms. Each change
        // reaches observers one hop later.
        // The current state replays at once, on the subscriber's thread.
        Assert.That(dialerStates.Messages, Is.EqualTo(new[]
        {
            OnNext(0, ConnectionState.NotConnected),
            OnNext(2 * Tick, ConnectionState.Connecting),
            OnNext(Ms(4) + (6 * Tick), ConnectionState.Connected),
        }));
        Assert.That(acceptorStates.Messages, Is.EqualTo(new[]
        {
            OnNext(0, ConnectionState.NotConnected),
            OnNext(Ms(3) + (5 * Tick), ConnectionState.Connected),
        }));
    }

    [Test]
    public async Task Subscribe_Late_ReplaysTheCurrentStateFirst()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        grid.RunMs(10);
        var late = grid.Scheduler.CreateObserver<ConnectionState>();

        grid["a"].Connection("b").Subscribe(late);

        Assert.That(late.Messages, Is.EqualTo(new[] { OnNext(Ms(10), ConnectionState.Connected) }));
    }

    [Test]
    public async Task Connect_ThreeNodes_EveryPairConnectsOnceWithExactlyOneDialer()
    {
        await using var grid = new VirtualGrid(["a", "b", "c"]).StartAll();
        grid.RunMs(10);

        Assert.That(grid.AllConnected(), Is.True);
        foreach (var (x, y) in new[] { ("a", "b"), ("a", "c"), ("b", "c") })
        {
            Assert.That(grid[x].Connection(y).IsDialer, Is.Not.EqualTo(grid[y].Connection(x).IsDialer), $"{x}-{y}");
        }

        Assert.That(grid.Network.LiveLinkCount, Is.EqualTo(3), "one link per pair");
    }

    [Test]
    public void DialDirection_IsDecidedTheSameWayOnBothSides_AndSpreadsOverTheGrid()
    {
        var names = Enumerable.Range(0, 40).Select(i => $"node-{i}.cluster:9000").ToArray();
        var dialsPerNode = names.ToDictionary(n => n, _ => 0);
        foreach (var x in names)
        {
            foreach (var y in names.Where(y => y != x))
            {
                Assert.That(DialDirection.ShouldDial(x, y), Is.Not.EqualTo(DialDirection.ShouldDial(y, x)), $"{x} / {y}");
                if (DialDirection.ShouldDial(x, y))
                {
                    dialsPerNode[x]++;
                }
            }
        }

        // Name order would make node-0 dial all 39 others; hashing spreads the dials out.
        Assert.That(dialsPerNode.Values.Max(), Is.LessThan(names.Length - 1));
        Assert.That(dialsPerNode.Values.Sum(), Is.EqualTo(names.Length * (names.Length - 1) / 2));
    }

    [Test]
    public async Task Connection_UnknownHost_ThrowsNamingTheKnownRemotes()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();

        var error = Assert.Throws<ArgumentException>(() => grid["a"].Connection("z"));

        Assert.That(error!.Message, Does.Contain("'z' is not a remote of 'a'").And.Contain("b"));
        Assert.Throws<ArgumentException>(() => grid["a"].Connection("a"));
    }

    [Test]
    public async Task Restart_OfAPeer_ItsPeersSeeDisconnectedThenConnected_AndRequestsWorkAgain()
    {
        await using var grid = new VirtualGrid(["a", "b", "c"]).StartAll();
        foreach (var name in grid.Names)
        {
            RegisterBasics(grid[name]);
        }

        grid.RunMs(10);
        var fromA = grid.Scheduler.CreateObserver<ConnectionState>();
        var fromC = grid.Scheduler.CreateObserver<ConnectionState>();
        grid["a"].Connection("b").Subscribe(fromA);
        grid["c"].Connection("b").Subscribe(fromC);

        await grid.StopAsync("b");
        grid.RunMs(50);
        RegisterBasics(grid.Start("b"));
        grid.RunMs(3000);

        foreach (var observer in new[] { fromA, fromC })
        {
            var states = observer.Messages.Select(m => m.Value.Value).ToArray();
            Assert.That(states.First(), Is.EqualTo(ConnectionState.Connected));
            Assert.That(states, Does.Contain(ConnectionState.Disconnected));
            Assert.That(states.Last(), Is.EqualTo(ConnectionState.Connected));
        }

        var answers = grid.Scheduler.CreateObserver<string>();
        grid["a"].Connection("b").Request(Echo, Bytes("again")).Select(Text).Subscribe(answers);
        grid["b"].Connection("c").Request(Echo, Bytes("again")).Select(Text).Subscribe(answers);
        grid.RunMs(10);
        Assert.That(answers.Messages.Where(m => m.Value.Kind == System.Reactive.NotificationKind.OnNext).Select(m => m.Value.Value),
            Is.EquivalentTo(new[] { "b:again", "c:again" }));
    }
}
