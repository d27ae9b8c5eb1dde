using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.VirtualGrid;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Connections;

/// <summary>When a silent peer is declared dead, and what a connection tells its observers at the end.</summary>
public sealed class LivenessTests
{
    [TestCase(10, 20, 3)]
    [TestCase(1, 3, 7)]
    [TestCase(2, 6, 1)]
    public async Task SilentPeer_IsDeclaredDead_WithinThePingTimeoutOfTheLastFrameHeard(int intervalS, int timeoutS, int silentAfterS)
    {
        var (dialer, acceptor) = Pair("a", "b");
        var interval = TimeSpan.FromSeconds(intervalS);
        var timeout = TimeSpan.FromSeconds(timeoutS);
        await using var grid = new VirtualGrid([dialer, acceptor], o => o with { PingInterval = interval, PingTimeout = timeout }).StartAll();
        var heard = new List<long>();
        grid[dialer].Connection(acceptor).FramesIn.Subscribe(_ => heard.Add(grid.Scheduler.Clock));
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(states);
        grid.Run(TimeSpan.FromSeconds(silentAfterS) + TimeSpan.FromMilliseconds(500));

        // A silent cut: nothing arrives either way, and nothing is closed.
        grid.Network.Hold(acceptor, dialer);
        grid.Network.Hold(dialer, acceptor);
        grid.Run(TimeSpan.FromSeconds(timeoutS * 3));

        var dead = states.Messages.First(m => m.Value.Value == ConnectionState.Disconnected).Time;
        var lastHeard = heard.Where(t => t < dead).Max();
        Assert.That(TimeSpan.FromTicks(dead - lastHeard), Is.InRange(timeout, timeout + TimeSpan.FromMilliseconds(1)),
            "declared dead one ping timeout after the last frame heard, not up to a ping interval later");
    }

    [Test]
    public void Defaults_NoticeASilentPeerWithinSeconds()
    {
        var options = new ManagerOptions { Address = "a", Remotes = ["b"], Transport = new InMemoryNetwork(new TestScheduler()), Authenticator = new SharedSecretAuthenticator(Secret) };

        Assert.That(options.PingTimeout, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(options.PingInterval, Is.LessThan(options.PingTimeout / 2), "at least two pings fit in a timeout, so one lost ping is not fatal");
    }

    [Test]
    public async Task Subscribe_AfterShutDown_ReplaysShutDown_ThenCompletes()
    {
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        grid.RunMs(10);
        var connection = grid["a"].Connection("b");
        await grid.StopAsync("a");
        var late = grid.Scheduler.CreateObserver<ConnectionState>();

        connection.Subscribe(late);
        grid.RunMs(1);

        Assert.That(late.Messages.Select(m => m.Value.Kind), Is.EqualTo(new[] { System.Reactive.NotificationKind.OnNext, System.Reactive.NotificationKind.OnCompleted }));
        Assert.That(late.Messages[0].Value.Value, Is.EqualTo(ConnectionState.ShutDown));
    }
}
