using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Connections;

public sealed class ReconnectTests
{
    [Test]
    public async Task Dial_ToANodeNotYetUp_RetriesWithExponentialBackoff_ThenConnects()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(dialer);
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(states);

        // Backoff (no jitter): 100 ms, then 200, 400, 800. Attempts at 0, 100, 300, 700, 1500 ms (plus the tick on which
        // dialing starts); the last one finds the acceptor up and connects four hops and four flushes later.
        grid.RunMs(1000);
        grid.Start(acceptor);
        grid.RunMs(1000);

        Assert.That(states.Messages, Is.EqualTo(new[]
        {
            OnNext(0, ConnectionState.NotConnected),
            OnNext(2 * Tick, ConnectionState.Connecting),
            OnNext(2 * Tick, ConnectionState.Disconnected),
            OnNext(Ms(100) + (2 * Tick), ConnectionState.Connecting),
            OnNext(Ms(100) + (2 * Tick), ConnectionState.Disconnected),
            OnNext(Ms(300) + (2 * Tick), ConnectionState.Connecting),
            OnNext(Ms(300) + (2 * Tick), ConnectionState.Disconnected),
            OnNext(Ms(700) + (2 * Tick), ConnectionState.Connecting),
            OnNext(Ms(700) + (2 * Tick), ConnectionState.Disconnected),
            OnNext(Ms(1500) + (2 * Tick), ConnectionState.Connecting),
            OnNext(Ms(1504) + (6 * Tick), ConnectionState.Connected),
        }));
    }

    private static long[] ConnectingTimesAfter(ITestableObserver<ConnectionState> states, long from) =>
        [.. states.Messages.Where(m => m.Time >= from && m.Value.Value == ConnectionState.Connecting).Select(m => m.Time)];

    [Test]
    public async Task LosingAStableConnection_RedialsAtOnce_ThenBacksOffWhileTheLinkStaysDown()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]).StartAll();
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(states);
        grid.RunMs(2000); // up for two seconds: stable (StableAfter is one second)

        var cutAt = grid.Scheduler.Clock;
        grid.Network.Cut(dialer, acceptor);
        grid.RunMs(1000);

        var lost = states.Messages.First(m => m.Time >= cutAt && m.Value.Value == ConnectionState.Disconnected).Time;
        var dials = ConnectingTimesAfter(states, cutAt);

        // At once (the next tick), then after 100 ms and 200 ms, as the link stays cut.
        Assert.That(dials[..3], Is.EqualTo(new[] { lost + Tick, lost + Tick + Ms(100), lost + Tick + Ms(300) }));
    }

    [Test]
    public async Task LosingAConnectionSoonAfterItCameUp_GoesOnWithTheBackoff_SoAFlappingLinkIsNotHammered()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]).StartAll();
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(states);
        grid.RunMs(10); // up for 8 ms only

        var cutAt = grid.Scheduler.Clock;
        grid.Network.Cut(dialer, acceptor);
        grid.RunMs(1000);

        var lost = states.Messages.First(m => m.Time >= cutAt && m.Value.Value == ConnectionState.Disconnected).Time;
        Assert.That(ConnectingTimesAfter(states, cutAt)[0], Is.EqualTo(lost + Ms(100)));
    }

    [Test]
    public void ReconnectPolicy_GrowsCapsAndJitters()
    {
        var policy = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1), Multiplier = 2, Jitter = 0.5 };

        Assert.That(policy.DelayFor(1, 0.5), Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        Assert.That(policy.DelayFor(3, 0.5), Is.EqualTo(TimeSpan.FromMilliseconds(400)));
        Assert.That(policy.DelayFor(30, 0.5), Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(policy.DelayFor(1, 0.0), Is.EqualTo(TimeSpan.FromMilliseconds(50)));
        Assert.That(policy.DelayFor(1, 0.999999), Is.EqualTo(TimeSpan.FromMilliseconds(150)).Within(TimeSpan.FromMilliseconds(0.001)));
    }

    [Test]
    public async Task LinkCut_FailsEveryCallInFlightAtOnce_ThenRedialsAfterHeal()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]).StartAll();
        var hanging = new Hanging(grid.Scheduler);
        grid[acceptor].Register(Hang, hanging.Serve);
        RegisterBasics(grid[acceptor]);
        grid.RunMs(10);
        var calls = Enumerable.Range(0, 5).Select(_ => grid.Scheduler.CreateObserver<byte[]>()).ToArray();
        foreach (var call in calls)
        {
            grid[dialer].Connection(acceptor).Request(Hang, Bytes("x")).Subscribe(call);
        }

        grid.RunMs(10);
        grid.Network.Cut(dialer, acceptor);
        grid.RunMs(1);

        var cutAt = grid.Scheduler.Clock;
        foreach (var call in calls)
        {
            Assert.That(call.Messages, Has.Count.EqualTo(1));
            Assert.That(call.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>());
        }

        Assert.That(calls.Select(c => c.Messages[0].Time).Distinct().Count(), Is.EqualTo(1), "all failed at the same instant");
        Assert.That(hanging.CancelledAt, Has.Count.EqualTo(5), "the handlers were cancelled");
        Assert.That(grid[dialer].Connection(acceptor).State, Is.EqualTo(ConnectionState.Disconnected));
        Assert.That(grid[acceptor].Connection(dialer).State, Is.EqualTo(ConnectionState.Disconnected));
        Assert.That(grid[dialer].PendingCalls() + grid[acceptor].PendingCalls(), Is.Zero);

        grid.RunMs(1000);
        grid.Network.Heal(dialer, acceptor);
        grid.RunMs(3000);
        Assert.That(grid.AllConnected(), Is.True);
        var answer = grid.Scheduler.CreateObserver<string>();
        grid[dialer].Connection(acceptor).Request(Echo, Bytes("back")).Select(Text).Subscribe(answer);
        grid.RunMs(5);
        Assert.That(answer.Messages[0].Value.Value, Is.EqualTo(acceptor + ":back"));
        Assert.That(cutAt, Is.GreaterThan(0));
    }

    [Test]
    public async Task Ping_WhenPongsStopArriving_ConnectionIsDeclaredDeadAfterThePingTimeout()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor],
            o => o with { PingInterval = TimeSpan.FromSeconds(1), PingTimeout = TimeSpan.FromSeconds(2) }).StartAll();
        var dialerStates = grid.Scheduler.CreateObserver<ConnectionState>();
        var acceptorStates = grid.Scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(dialerStates);
        grid[acceptor].Connection(dialer).Subscribe(acceptorStates);
        grid.RunMs(5);

        // The network hangs both ways (nothing arrives, nothing is closed): only the pings can tell.
        grid.Network.Hold(acceptor, dialer);
        grid.Network.Hold(dialer, acceptor);
        grid.RunMs(10_000);

        // The dialer last heard the acceptor at 4 ms (the acceptor's proof, the handshake's fourth hop, 5 ticks in): it
        // is dead exactly one ping timeout later, at 2.004 s, and its observers hear of it one hop after. The acceptor
        // last heard the dialer at 3 ms (the dialer's proof, 4 ticks in) and dies a millisecond earlier.
        Assert.That(dialerStates.Messages.First(m => m.Value.Value == ConnectionState.Disconnected).Time, Is.EqualTo(Ms(2004) + (6 * Tick)));
        Assert.That(acceptorStates.Messages.First(m => m.Value.Value == ConnectionState.Disconnected).Time, Is.EqualTo(Ms(2003) + (5 * Tick)));
        Assert.That(grid[dialer].Connection(acceptor).LastError!.Message, Does.Contain("No pong"));
    }

    [Test]
    public async Task Ping_KeepsAnIdleConnectionAliveForHours()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid["a"].Connection("b").Subscribe(states);

        grid.Run(TimeSpan.FromHours(3));

        Assert.That(states.Messages.Select(m => m.Value.Value).Last(), Is.EqualTo(ConnectionState.Connected));
        Assert.That(states.Messages.Count(m => m.Value.Value == ConnectionState.Disconnected), Is.Zero);
    }
}
