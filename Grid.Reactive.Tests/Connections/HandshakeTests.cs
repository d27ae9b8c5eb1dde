using System.Text;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;

namespace Grid.Reactive.Tests.Connections;

public sealed class HandshakeTests
{
    private static int _served;

    private static void RegisterCounting(Manager manager) =>
        manager.Register(Echo, (p, _) =>
        {
            Interlocked.Increment(ref _served);
            return ValueTask.FromResult(p);
        });

    [SetUp]
    public void SetUp() => _served = 0;

    [Test]
    public async Task WrongSecret_IsRefusedWithALoggedReason_AndNothingIsServed()
    {
        var (dialer, acceptor) = Pair("a", "b");
        var acceptorLog = new CapturingLogger();
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(dialer, grid.OptionsFor(dialer) with { Authenticator = new SharedSecretAuthenticator(Encoding.UTF8.GetBytes("not-the-grid-secret-at-all")) });
        grid.Start(acceptor, grid.OptionsFor(acceptor) with { Logger = acceptorLog });
        RegisterCounting(grid[acceptor]);
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(states);

        grid.RunMs(5000);

        Assert.That(states.Messages.Select(m => m.Value.Value), Does.Not.Contain(ConnectionState.Connected));
        Assert.That(acceptorLog.Lines.Select(l => l.Text), Has.Some.Contains($"authentication of '{dialer}' failed"));
        Assert.That(grid[dialer].Connection(acceptor).LastError, Is.TypeOf<HandshakeRejectedException>().With.Message.Contains("refused: auth"));
        Assert.That(grid[acceptor].Connection(dialer).State, Is.EqualTo(ConnectionState.NotConnected));
        Assert.That(_served, Is.Zero);
    }

    [Test]
    public async Task AnUnauthenticatedPeer_LearnsOnlyThatItWasRefused_NotTheNodesNamesOrClock()
    {
        var (dialer, acceptor) = Pair("a", "b");
        var log = new CapturingLogger();
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(acceptor, grid.OptionsFor(acceptor) with { Logger = log });
        var peer = await RawPeer.DialAsync(grid.Network, "intruder", acceptor);

        // Wrong secret, unknown name, wrong target and a clock a day off: the first check that fails is the secret.
        peer.SendHello(TestHandshake.Hello("intruder", "somebody-else", grid.Scheduler.Now.AddDays(1), 1));
        grid.RunMs(10);
        var challenge = peer.Challenge!;
        peer.SendProof(new SharedSecretAuthenticator(Encoding.UTF8.GetBytes("a-guess-at-the-grid-secret")));
        grid.RunMs(10);

        // The challenge holds the version, an instance id, a nonce and limits: no name, no clock, no proof of the node.
        Assert.That(HandshakeCodec.Encode(challenge), Has.Length.LessThan(64));
        Assert.That(peer.Received.Select(f => f.Op), Is.EqualTo(new[] { Op.ConnectResponse, Op.ConnectResponse }), "no proof of the node for a stranger");
        Assert.That(Text(peer.Received[1].Payload.ToArray()), Is.EqualTo("refused: auth"));
        Assert.That(log.Lines.Select(l => l.Text), Has.Some.Contains("authentication of 'intruder' failed"), "the detail stays in the local log");
    }

    [Test]
    public async Task UnknownName_IsRefused()
    {
        var rogue = Enumerable.Range(0, 100).Select(i => $"rogue-{i}").First(r => Grid.Reactive.Connections.DialDirection.ShouldDial(r, "a"));
        var log = new CapturingLogger();
        await using var grid = new VirtualGrid(["a", "b"]);
        grid.Start("a", grid.OptionsFor("a") with { Logger = log });
        grid.Start(rogue, grid.OptionsFor(rogue) with { Remotes = ["a", "b", rogue] });
        RegisterCounting(grid["a"]);

        grid.RunMs(5000);

        Assert.That(log.Lines.Select(l => l.Text), Has.Some.Contains($"'{rogue}' is not a known remote of 'a'"));
        Assert.That(grid[rogue].Connection("a").State, Is.Not.EqualTo(ConnectionState.Connected));
        Assert.That(_served, Is.Zero);
    }

    [Test]
    public async Task ClockOutsideTheAllowedSkew_IsRefused()
    {
        var (dialer, acceptor) = Pair("a", "b");
        var log = new CapturingLogger();
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(dialer, grid.OptionsFor(dialer) with { Scheduler = new OffsetScheduler(grid.Scheduler, TimeSpan.FromMinutes(10)) });
        grid.Start(acceptor, grid.OptionsFor(acceptor) with { Logger = log });

        grid.RunMs(1000);

        Assert.That(log.Lines.Select(l => l.Text), Has.Some.Contains("clock of '" + dialer + "' differs from ours by 00:09:59").And.Some.Contains("more than the allowed 00:05:00"));
        Assert.That(grid[dialer].Connection(acceptor).State, Is.Not.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public async Task ClockWithinTheAllowedSkew_Connects()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(dialer, grid.OptionsFor(dialer) with { Scheduler = new OffsetScheduler(grid.Scheduler, TimeSpan.FromMinutes(4)) });
        grid.Start(acceptor);

        grid.RunMs(1000);

        Assert.That(grid.AllConnected(), Is.True);
    }

    [Test]
    public async Task OtherProtocolVersion_IsRefusedWithTheReason()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(acceptor);
        var peer = await RawPeer.DialAsync(grid.Network, dialer, acceptor);

        peer.SendHello(TestHandshake.Hello(dialer, acceptor, grid.Scheduler.Now, 1, version: ProtocolConstants.Version + 1));
        grid.RunMs(10);

        var answer = peer.Received.Single();
        Assert.That(answer.Op, Is.EqualTo(Op.ConnectResponse));
        Assert.That(answer.Flags & FrameFlags.Error, Is.EqualTo(FrameFlags.Error));
        Assert.That(Text(answer.Payload.ToArray()), Is.EqualTo("refused: version"), "the peer learns the code only");
    }

    [Test]
    public async Task DialFromTheSideThatShouldAccept_IsRefused_SoOnlyOneConnectionExists()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(dialer);
        var peer = await RawPeer.DialAsync(grid.Network, acceptor, dialer);

        peer.SendHello(TestHandshake.Hello(acceptor, dialer, grid.Scheduler.Now, 1));
        grid.RunMs(10);
        peer.SendProof(new SharedSecretAuthenticator(Secret));
        grid.RunMs(10);

        Assert.That(Text(peer.Received.Last().Payload.ToArray()), Is.EqualTo("refused: direction"), "the peer learns the code only");
        Assert.That(grid[dialer].Connection(acceptor).State, Is.Not.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public async Task RequestBeforeTheHandshake_ClosesTheLink_AndIsNotServed()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(acceptor);
        RegisterCounting(grid[acceptor]);
        var peer = await RawPeer.DialAsync(grid.Network, dialer, acceptor);

        peer.Send(new Frame(Op.Request, 1, handlerId: Echo.Value, payload: Bytes("sneaky")));
        grid.RunMs(10);

        Assert.That(peer.Closed, Is.True);
        Assert.That(_served, Is.Zero);
    }

    [Test]
    public async Task GarbageInsteadOfAHandshake_ClosesTheLinkWithAProtocolError()
    {
        var (dialer, acceptor) = Pair("a", "b");
        var log = new CapturingLogger();
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(acceptor, grid.OptionsFor(acceptor) with { Logger = log });
        var peer = await RawPeer.DialAsync(grid.Network, dialer, acceptor);

        peer.SendBytes(Bytes("GET / HTTP/1.1\r\n\r\n"));
        grid.RunMs(10);

        Assert.That(peer.Closed, Is.True);
        Assert.That(log.Lines.Select(l => l.Text), Has.Some.Contains("Protocol error"));
    }

    [Test]
    public async Task SilentPeer_IsClosedAfterTheHandshakeTimeout()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor], o => o with { HandshakeTimeout = TimeSpan.FromSeconds(3) });
        grid.Start(acceptor);
        var peer = await RawPeer.DialAsync(grid.Network, dialer, acceptor);

        grid.RunMs(2990);
        Assert.That(peer.Closed, Is.False);
        grid.RunMs(20);
        Assert.That(peer.Closed, Is.True);
    }

    [Test]
    public async Task DialWhoseAnswerNeverComes_FailsAtTheHandshakeTimeout_ThenRetries()
    {
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor], o => o with { HandshakeTimeout = TimeSpan.FromSeconds(3) });
        grid.Network.Hold(acceptor, dialer);
        grid.StartAll();
        var states = grid.Scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(states);

        grid.RunMs(3050);

        Assert.That(states.Messages.Select(m => (m.Time, m.Value.Value)), Is.EqualTo(new[]
        {
            (0L, ConnectionState.NotConnected),
            (2 * Tick, ConnectionState.Connecting),
            (Ms(3000) + (2 * Tick), ConnectionState.Disconnected),
        }));
        Assert.That(grid[dialer].Connection(acceptor).LastError!.Message, Does.Contain("took longer than 00:00:03"));
        grid.Network.Release(acceptor, dialer);
        grid.RunMs(200);
        Assert.That(grid[dialer].Connection(acceptor).State, Is.EqualTo(ConnectionState.Connected));
    }
}
