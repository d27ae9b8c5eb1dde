using Grid.Reactive.Connections;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Membership;

public sealed class MembershipTests
{
    private static readonly long GraceTicks = MemberGrid.Grace.Ticks;

    private static string[] Addresses(IReadOnlyCollection<Connection> peers) => [.. peers.Select(c => c.RemoteAddress)];

    private static byte[]? Answer(Manager from, string to, VirtualGrid grid)
    {
        var answer = grid.Scheduler.CreateObserver<byte[]>();
        from.Connection(to).Request(Echo, Bytes("ping")).Subscribe(answer);
        grid.RunMs(10);
        return answer.Messages.Count == 2 && answer.Messages[0].Value.HasValue ? answer.Messages[0].Value.Value : null;
    }

    [Test]
    public async Task AFourthNodeAddedAtRuntime_BecomesReachableFromAllThree_AndReachesThem()
    {
        await using var members = new MemberGrid("a", "b", "c", "d").StartAll("a", "b", "c");
        foreach (var name in new[] { "a", "b", "c" })
        {
            RegisterBasics(members[name]);
        }

        members.RunMs(100);
        Assert.That(() => members["a"].Connection("d"), Throws.ArgumentException.With.Message.Contains("'d' is not a remote of 'a'"));

        // d starts knowing everyone; the three learn of it 500 ms later (a slow source), so d's own dials are refused first.
        RegisterBasics(members.Start("d", ["a", "b", "c", "d"]));
        members.RunMs(500);
        members.TellAll("a", "b", "c", "d");
        members.RunMs(3000); // the dialers' backoff (at most Reconnect.MaxDelay, 2 s here) catches up

        foreach (var name in new[] { "a", "b", "c" })
        {
            Assert.That(members[name].Connection("d").State, Is.EqualTo(ConnectionState.Connected), name);
            Assert.That(members["d"].Connection(name).State, Is.EqualTo(ConnectionState.Connected), name);
            Assert.That(Answer(members[name], "d", members.Grid), Is.EqualTo(Bytes("d:ping")), name + " -> d");
            Assert.That(Answer(members["d"], name, members.Grid), Is.EqualTo(Bytes(name + ":ping")), "d -> " + name);
        }
    }

    [Test]
    public async Task AHandshakeFromAPeerNotYetKnown_IsRefused_AndTheDialersBackoffConnectsOnceTheSetCatchesUp()
    {
        // Of the pair, "dialer" dials: the other side refuses it ("unknown") until its own set lists it.
        var (dialer, acceptor) = DialDirection.ShouldDial("x", "y") ? ("x", "y") : ("y", "x");
        var logger = new CapturingLogger();
        await using var members = new MemberGrid(dialer, acceptor);
        members.Start(acceptor, [acceptor], o => o with { Logger = logger });
        members.Start(dialer, [dialer, acceptor]);
        var states = members.Grid.Scheduler.CreateObserver<ConnectionState>();
        members[dialer].Connection(acceptor).Subscribe(states);
        members.RunMs(1000);

        Assert.That(members[dialer].Connection(acceptor).State, Is.Not.EqualTo(ConnectionState.Connected));
        Assert.That(members[dialer].Connection(acceptor).LastError, Is.TypeOf<HandshakeRejectedException>().With.Message.Contains("unknown"));
        Assert.That(logger.Lines.Any(l => l.Text.Contains($"'{dialer}' is not a known remote of '{acceptor}'", StringComparison.Ordinal)), Is.True);

        var caughtUpAt = members.Grid.Scheduler.Clock;
        members.Tell(acceptor, acceptor, dialer);
        members.RunMs(3000);

        var connectedAt = states.Messages.Last(m => m.Value.Value == ConnectionState.Connected).Time;
        Assert.That(members[acceptor].Connection(dialer).State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(connectedAt - caughtUpAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(2).Ticks + Ms(10)),
            "connected within one backoff period (Reconnect.MaxDelay) of the set catching up");
    }

    [Test]
    public async Task AHostThatLeaves_IsRetiredAfterTheGracePeriod_ItsCallsInFlightFailingWithTheClearError()
    {
        await using var members = new MemberGrid("a", "b", "c").StartAll("a", "b", "c");
        var hanging = new Hanging(members.Grid.Scheduler);
        members["c"].Register(Hang, hanging.Serve);
        RegisterBasics(members["c"]);
        var hangingOnA = new Hanging(members.Grid.Scheduler);
        members["a"].Register(Hang, hangingOnA.Serve);
        members.RunMs(100);
        var fromC = members.Grid.Scheduler.CreateObserver<byte[]>();
        members["c"].Connection("a").Request(Hang, Bytes("from c")).Subscribe(fromC);
        var connection = members["a"].Connection("c");
        var states = members.Grid.Scheduler.CreateObserver<ConnectionState>();
        connection.Subscribe(states);
        var calls = Enumerable.Range(0, 3).Select(_ => members.Grid.Scheduler.CreateObserver<byte[]>()).ToArray();
        foreach (var call in calls)
        {
            connection.Request(Hang, Bytes("x"), TimeSpan.FromMinutes(1)).Subscribe(call);
        }

        members.RunMs(10); // t = 110 ms: c leaves a's set
        members.Tell("a", "a", "b");
        members.RunMs(MemberGrid.Grace.TotalMilliseconds - 10);

        // Within the grace period nothing changes: the calls are still in flight, new calls go through.
        Assert.That(calls.Select(c => c.Messages.Count), Is.All.EqualTo(0));
        Assert.That(connection.State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(Answer(members["a"], "c", members.Grid), Is.EqualTo(Bytes("c:ping")));

        members.RunMs(10);
        var retiredAt = Ms(110) + GraceTicks;
        foreach (var call in calls)
        {
            Assert.That(call.Messages, Has.Count.EqualTo(1));
            Assert.That(call.Messages[0].Time, Is.EqualTo(retiredAt + Tick), "failed one hand-off after the grace period ended");
            Assert.That(call.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>()
                .With.Message.EqualTo("'c' left the membership of 'a' (absent for the MembershipGracePeriod of 00:00:01); the connection was retired."));
        }

        Assert.That(states.Messages, Is.EqualTo(new[]
        {
            OnNext(Ms(100), ConnectionState.Connected),
            OnNext(retiredAt + Tick, ConnectionState.ShutDown),
            OnCompleted<ConnectionState>(retiredAt + Tick),
        }));
        Assert.That(Addresses(members["a"].Connections), Is.EqualTo(new[] { "b" }));
        Assert.That(() => members["a"].Connection("c"), Throws.ArgumentException.With.Message.Contains("'c' is not a remote of 'a'. Known remotes: b."));

        // The retired object refuses at once, saying why; c was told (its handlers cancelled) and does not get the calls.
        var late = members.Grid.Scheduler.CreateObserver<byte[]>();
        connection.Request(Echo, Bytes("late")).Subscribe(late);
        Assert.That(late.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>().With.Message.Contains("'c' left the membership of 'a'"));
        members.RunMs(10);
        Assert.That(hanging.CancelledAt, Has.Count.EqualTo(3));
        Assert.That(hangingOnA.CancelledAt, Has.Count.EqualTo(1));
        Assert.That(fromC.Messages.Single().Value.Exception, Is.TypeOf<DisconnectedException>()
            .With.Message.EqualTo("'a' closed the connection: 'c' left the membership of 'a' (absent for the MembershipGracePeriod of 00:00:01); the connection was retired."));
    }

    [Test]
    public async Task AFlappingSource_WithinTheGracePeriod_DoesNotFlapTheConnection()
    {
        await using var members = new MemberGrid("a", "b").StartAll("a", "b");
        RegisterBasics(members["b"]);
        var fromA = members.Grid.Scheduler.CreateObserver<ConnectionState>();
        var fromB = members.Grid.Scheduler.CreateObserver<ConnectionState>();
        members["a"].Connection("b").Subscribe(fromA);
        members["b"].Connection("a").Subscribe(fromB);
        var peers = members.Grid.Scheduler.CreateObserver<IReadOnlyCollection<Connection>>();
        members["a"].Peers.Subscribe(peers);
        var connection = members["a"].Connection("b");
        members.RunMs(100);
        var connectedA = fromA.Messages.ToArray();
        var connectedB = fromB.Messages.ToArray();

        for (var flap = 0; flap < 50; flap++)
        {
            members.Tell("a", "a");                    // b gone ...
            members.RunMs(900);                        // ... for 0.9 of the grace period
            members.Tell("a", "a", "b");               // and back
            members.RunMs(flap % 2 == 0 ? 1 : 300);
        }

        members.RunMs(2000);
        Assert.That(fromA.Messages, Is.EqualTo(connectedA), "no state change on a: no redial, no shutdown");
        Assert.That(fromB.Messages, Is.EqualTo(connectedB), "no state change on b");
        Assert.That(connectedA.Last().Value.Value, Is.EqualTo(ConnectionState.Connected));
        Assert.That(members["a"].Connection("b"), Is.SameAs(connection));
        Assert.That(peers.Messages, Has.Count.EqualTo(1), "the live set never changed");
        Assert.That(Answer(members["a"], "b", members.Grid), Is.EqualTo(Bytes("b:ping")));
    }

    [Test]
    public async Task Peers_ReplaysTheCurrentSet_ThenShowsJoinsAndLeavesInOrder_AndCompletesOnDispose()
    {
        await using var members = new MemberGrid("a", "b", "c", "d");
        var a = members.Start("a", ["a", "b"]);
        var peers = members.Grid.Scheduler.CreateObserver<string>();
        a.Peers.Select(set => string.Join(",", Addresses(set))).Subscribe(peers);
        members.RunMs(100);
        members.Tell("a", "a", "b", "c");     // c joins at 100 ms
        members.RunMs(100);
        members.Tell("a", "a", "c", "d");     // b leaves, d joins at 200 ms
        members.RunMs(2000);                  // b retired at 1200 ms
        await a.DisposeAsync();
        members.Grid.Scheduler.AdvanceBy(Tick);

        Assert.That(peers.Messages, Is.EqualTo(new[]
        {
            OnNext(0, "b"),
            OnNext(Ms(100) + Tick, "b,c"),
            OnNext(Ms(200) + Tick, "b,c,d"),
            OnNext(Ms(1200) + Tick, "c,d"),
            OnCompleted<string>(Ms(2200) + Tick),
        }));
    }

    [Test]
    public async Task AHostRetiredThenListedAgain_GetsANewConnection_ThatConnects()
    {
        await using var members = new MemberGrid("a", "b").StartAll("a", "b");
        RegisterBasics(members["b"]);
        members.RunMs(100);
        var old = members["a"].Connection("b");
        members.Tell("a", "a");
        members.RunMs(MemberGrid.Grace.TotalMilliseconds + 100);
        Assert.That(old.State, Is.EqualTo(ConnectionState.ShutDown));

        members.Tell("a", "a", "b");
        members.RunMs(3000);

        Assert.That(members["a"].Connection("b"), Is.Not.SameAs(old));
        Assert.That(members["a"].Connection("b").State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(Answer(members["a"], "b", members.Grid), Is.EqualTo(Bytes("b:ping")));
    }

    [Test]
    public async Task ASourceThatFails_KeepsItsLastSet_AndSaysSo()
    {
        var logger = new CapturingLogger();
        var source = new System.Reactive.Subjects.Subject<IReadOnlyCollection<string>>();
        await using var grid = new VirtualGrid(["a", "b"]);
        grid.Start("b", grid.OptionsFor("b"));
        var a = grid.Start("a", grid.OptionsFor("a") with { Remotes = [], Membership = source, Logger = logger });
        source.OnNext(["a", "b", " "]);
        source.OnError(new InvalidOperationException("registry unreachable"));
        grid.RunMs(MemberGrid.Grace.TotalMilliseconds * 20);

        Assert.That(Addresses(a.Connections), Is.EqualTo(new[] { "b" }));
        Assert.That(a.Connection("b").State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(logger.Lines.Select(l => l.Text), Has.Some.Contains("membership source of a failed; keeping its last host set (1 remotes): registry unreachable"));
        Assert.That(logger.Lines.Select(l => l.Text), Has.Some.Contains("listed an empty address"));
    }

    [Test]
    public void Options_RemotesAndMembershipTogether_OrANegativeGracePeriod_AreRefusedSayingWhy()
    {
        var grid = new VirtualGrid(["a", "b"]);
        var good = grid.OptionsFor("a");
        var source = System.Reactive.Linq.Observable.Return<IReadOnlyCollection<string>>(["a", "b"]);

        Assert.That(() => new Manager(good with { Membership = source }),
            Throws.ArgumentException.With.Message.Contains("ManagerOptions.Remotes and ManagerOptions.Membership cannot both be given"));
        Assert.That(() => new Manager(good with { Remotes = [], Membership = source, MembershipGracePeriod = TimeSpan.FromSeconds(-1) }),
            Throws.ArgumentException.With.Message.Contains("MembershipGracePeriod must not be negative"));
        Assert.That(() => new Manager(good with { Remotes = [], Membership = source }), Throws.Nothing);
    }
}
