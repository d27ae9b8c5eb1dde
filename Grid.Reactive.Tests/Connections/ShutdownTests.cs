using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Microsoft.Reactive.Testing.ReactiveTest;
using static Grid.Reactive.Tests.Support.VirtualGrid;

namespace Grid.Reactive.Tests.Connections;

public sealed class ShutdownTests
{
    [Test]
    public async Task Dispose_FailsCallsInFlight_EndsInShutDown_AndLeavesNoTimerRunning()
    {
        var grid = new VirtualGrid(["a", "b", "c"]).StartAll();
        var hanging = new Hanging(grid.Scheduler);
        foreach (var name in grid.Names)
        {
            grid[name].Register(Hang, hanging.Serve);
        }

        grid.RunMs(10);
        var call = grid.Scheduler.CreateObserver<byte[]>();
        grid["a"].Connection("b").Request(Hang, Bytes("x")).Subscribe(call);
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid["a"].Connection("b").Subscribe(states);
        grid.RunMs(5);

        await grid["a"].DisposeAsync();
        grid.Scheduler.AdvanceBy(Tick);

        // The failure is dispatched to the caller like any outcome: one hand-off after the shutdown.
        Assert.That(call.Messages, Has.Count.EqualTo(1));
        Assert.That(call.Messages[0].Time, Is.EqualTo(Ms(15) + Tick));
        Assert.That(call.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>().With.Message.Contains("shut down"));
        Assert.That(states.Messages, Is.EqualTo(new[]
        {
            OnNext(Ms(10), ConnectionState.Connected),
            OnNext(Ms(15) + Tick, ConnectionState.ShutDown),
            OnCompleted<ConnectionState>(Ms(15) + Tick),
        }));
        grid.RunMs(10);
        Assert.That(hanging.CancelledAt, Has.Count.EqualTo(1), "the remote handler was cancelled too");
        Assert.That(grid["b"].Connection("a").State, Is.EqualTo(ConnectionState.Disconnected));

        var afterwards = grid.Scheduler.CreateObserver<byte[]>();
        grid["a"].Connection("b").Request(Echo, Bytes("x")).Subscribe(afterwards);
        Assert.That(afterwards.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>());

        await grid.DisposeAsync();
        grid.RunMs(10); // deliveries already on the wire (link closes) land
        Assert.That(grid.Scheduler.HasPendingWork, Is.False, "no ping, deadline, backoff or delivery left scheduled");
    }

    [Test]
    public async Task Dispose_IsIdempotent_AndStartAfterItThrows()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        var manager = grid["a"];

        await manager.DisposeAsync();
        await manager.DisposeAsync();

        Assert.ThrowsAsync<ObjectDisposedException>(async () => await manager.StartAsync());
    }

    [Test]
    public void Manager_WithMissingOrBadOptions_ThrowsSayingWhich()
    {
        var grid = new VirtualGrid(["a", "b"]);
        var good = grid.OptionsFor("a");

        Assert.That(() => new Manager(good with { Address = " " }), Throws.ArgumentException.With.Message.Contains("Address"));
        Assert.That(() => new Manager(good with { PingTimeout = TimeSpan.FromSeconds(1) }), Throws.ArgumentException.With.Message.Contains("PingTimeout"));
        Assert.That(() => new Manager(good with { Reconnect = new ReconnectPolicy { Jitter = 2 } }), Throws.ArgumentException.With.Message.Contains("Jitter"));
        Assert.That(() => new SharedSecretAuthenticator(new byte[4]), Throws.ArgumentException);
    }
}
