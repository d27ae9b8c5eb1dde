using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;

namespace Grid.Reactive.Tests.Connections;

/// <summary>StopAsync drains calls in flight before closing; every stop reaches the peer as an orderly goodbye.</summary>
public sealed class OrderlyStopTests
{
    private static readonly HandlerId Slow = new(40);

    [Test]
    public async Task StopAsync_FinishesCallsInFlightBothWays_RefusesNewOnes_ThenShutsDown()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        foreach (var name in grid.Names)
        {
            grid[name].Register(Slow, _ => Observable.Timer(TimeSpan.FromMilliseconds(500), grid.Scheduler).Select(_ => Bytes("slow answer")));
        }

        grid.RunMs(10);
        var toStopping = grid.Scheduler.CreateObserver<byte[]>();
        var fromStopping = grid.Scheduler.CreateObserver<byte[]>();
        grid["b"].Connection("a").Request(Slow, Bytes("1")).Subscribe(toStopping);
        grid["a"].Connection("b").Request(Slow, Bytes("2")).Subscribe(fromStopping);
        grid.RunMs(10);

        var stop = grid["a"].StopAsync(TimeSpan.FromSeconds(5)).AsTask();
        grid.RunMs(10);
        var refusedThere = grid.Scheduler.CreateObserver<byte[]>();
        var refusedHere = grid.Scheduler.CreateObserver<byte[]>();
        grid["b"].Connection("a").Request(Echo, Bytes("new")).Subscribe(refusedThere);
        grid["a"].Connection("b").Request(Echo, Bytes("new")).Subscribe(refusedHere);
        grid.RunMs(10);

        Assert.That(refusedThere.Messages.Single().Value.Exception, Is.TypeOf<DisconnectedException>().With.Message.Contains("'a' is shutting down"));
        Assert.That(refusedHere.Messages.Single().Value.Exception, Is.TypeOf<DisconnectedException>().With.Message.Contains("'a' is shutting down"));
        Assert.That(stop.IsCompleted, Is.False, "two calls are still in flight");

        grid.RunMs(1000);
        await stop;
        Assert.That(Text(toStopping.Messages[0].Value.Value), Is.EqualTo("slow answer"), "the stopping node's handler finished and answered");
        Assert.That(Text(fromStopping.Messages[0].Value.Value), Is.EqualTo("slow answer"), "the stopping node's own call was answered");
        Assert.That(grid["a"].Connection("b").State, Is.EqualTo(ConnectionState.ShutDown));
    }

    [Test]
    public async Task StopAsync_WithAHandlerThatNeverAnswers_StopsAtTheDrainTimeout()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        var hanging = new Hanging(grid.Scheduler);
        grid["a"].Register(Hang, hanging.Serve);
        grid.RunMs(10);
        var call = grid.Scheduler.CreateObserver<byte[]>();
        grid["b"].Connection("a").Request(Hang, Bytes("x")).Subscribe(call);
        grid.RunMs(10);

        var stop = grid["a"].StopAsync(TimeSpan.FromSeconds(1)).AsTask();
        grid.RunMs(900);
        Assert.That(stop.IsCompleted, Is.False);
        grid.RunMs(200);

        await stop;
        Assert.That(grid["a"].Connection("b").State, Is.EqualTo(ConnectionState.ShutDown));
        grid.RunMs(10);
        Assert.That(call.Messages.Single().Value.Exception, Is.TypeOf<DisconnectedException>());
        Assert.That(hanging.CancelledAt, Has.Count.EqualTo(1), "the handler was cancelled at the hard stop");
    }

    [Test]
    public async Task Dispose_InMemory_ReachesThePeerAsAGoodbye_AfterTheAnswersAlreadyQueued()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        grid["a"].Register(Slow, (payload, _) => ValueTask.FromResult(payload));
        grid.RunMs(10);
        var call = grid.Scheduler.CreateObserver<byte[]>();
        grid["b"].Connection("a").Request(Slow, Bytes("answered")).Subscribe(call);

        // Served at 11 ms; a stops in the same tick its answer is queued: the answer still goes out, then the goodbye.
        grid.Scheduler.AdvanceTo(Ms(11) + (2 * Tick));
        await grid.StopAsync("a");
        grid.RunMs(10);

        Assert.That(Text(call.Messages[0].Value.Value), Is.EqualTo("answered"));
        Assert.That(grid["b"].Connection("a").LastError, Is.TypeOf<DisconnectedException>().With.Message.Contains("closed the connection: shutting down"));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Dispose_OnRealWebSockets_ReachesThePeerAsAGoodbye_EveryTime(bool stopTheDialer)
    {
        for (var round = 0; round < 8; round++)
        {
            var addresses = new[] { FreePort.NextAddress(), FreePort.NextAddress() };
            var logs = addresses.ToDictionary(a => a, _ => new CapturingLogger());
            var nodes = addresses.Select(a => new Manager(new ManagerOptions
            {
                Address = a,
                Remotes = addresses,
                Transport = new WebSocketTransport(),
                Authenticator = new SharedSecretAuthenticator(Secret),
                Logger = logs[a],
            })).ToArray();
            foreach (var node in nodes)
            {
                RegisterBasics(node);
                await node.StartAsync();
            }

            await Task.WhenAll(nodes.Select(n => n.Connections.Single().FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard)));
            var stopping = nodes.Single(n => n.Connections.Single().IsDialer == stopTheDialer);
            var peer = nodes.Single(n => n != stopping).Connections.Single();
            var lost = peer.FirstAsync(s => s == ConnectionState.Disconnected).ToTask();

            await stopping.DisposeAsync();
            await lost.WaitAsync(RealGrid.Guard);

            // The log, not LastError: a dialer's redial may already have failed and replaced LastError by now.
            var peerLog = logs[nodes.Single(n => n != stopping).Address];
            Assert.That(peerLog.Lines.Select(l => l.Text).Where(t => t.StartsWith("Disconnected", StringComparison.Ordinal)),
                Has.Some.Contains("closed the connection: shutting down"), $"round {round}: the peer heard the goodbye, not a lost link");
            await nodes.Single(n => n != stopping).DisposeAsync();
        }
    }
}
