using System.Text;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// The challenge-response handshake in virtual time: a captured handshake replayed, a proof carried to another
/// connection, a second session from the same live peer instance, a restarted peer, a dead link, and a rolling change
/// of secrets. In every case the good pair keeps talking.
/// </summary>
public sealed class HandshakeReplayTests
{
    private static readonly byte[] NewSecret = Encoding.UTF8.GetBytes("the-rotated-grid-secret-for-tests");

    /// <summary>One echo call from <paramref name="from"/> to <paramref name="to"/>, run to its end in virtual time.</summary>
    private static string Ask(VirtualGrid grid, string from, string to)
    {
        var answer = grid.Scheduler.CreateObserver<byte[]>();
        using var call = grid[from].Connection(to).Request(Echo, Bytes("hi"), TimeSpan.FromSeconds(1)).Subscribe(answer);
        grid.RunMs(20);
        var first = answer.Messages.Count > 0 ? answer.Messages[0].Value : null;
        return first?.Kind == System.Reactive.NotificationKind.OnNext ? Text(first.Value) : $"failed: {first?.Exception?.Message ?? "no answer"}";
    }

    private static async Task<(VirtualGrid Grid, string Dialer, string Acceptor, CapturingLogger Log)> ConnectedPairAsync(List<Frame>? dialerFramesOut = null)
    {
        var (dialer, acceptor) = Pair("a", "b");
        var log = new CapturingLogger();
        var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(acceptor, grid.OptionsFor(acceptor) with { Logger = log });
        var node = grid.Start(dialer);
        if (dialerFramesOut is not null)
        {
            node.Connection(acceptor).FramesOut.Subscribe(f => dialerFramesOut.Add(f));
        }

        RegisterBasics(grid[acceptor]);
        RegisterBasics(grid[dialer]);
        grid.RunMs(10);
        Assert.That(grid.AllConnected(), Is.True);
        await Task.CompletedTask;
        return (grid, dialer, acceptor, log);
    }

    [Test]
    public async Task AReplayedHandshake_FromAThirdLink_IsRefused_AndTheLiveConnectionStays()
    {
        var sent = new List<Frame>();
        var (grid, dialer, acceptor, log) = await ConnectedPairAsync(sent);
        await using var _ = grid;
        var hello = sent.First(f => f.Op == Op.Connect);
        var proof = sent.First(f => f.Op == Op.ConnectProof);

        // The captured hello and proof, sent again two seconds later from a third link.
        grid.RunMs(2000);
        var intruder = await RawPeer.DialAsync(grid.Network, "intruder", acceptor);
        intruder.Send(hello);
        grid.RunMs(10);
        intruder.Send(proof);
        grid.RunMs(10);

        Assert.That(intruder.Received.Select(f => f.Op), Is.EqualTo(new[] { Op.ConnectResponse, Op.ConnectResponse }));
        Assert.That(Text(intruder.Received[1].Payload.ToArray()), Is.EqualTo("refused: auth"), "the challenge was new: the old proof does not answer it");
        Assert.That(log.Lines.Select(l => l.Text), Has.Some.Contains($"authentication of '{dialer}' failed"));
        Assert.That(grid[dialer].Connection(acceptor).State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(grid[acceptor].Connection(dialer).State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(Ask(grid, dialer, acceptor), Is.EqualTo($"{acceptor}:hi"));
        Assert.That(Ask(grid, acceptor, dialer), Is.EqualTo($"{dialer}:hi"));
    }

    [Test]
    public async Task AProofMadeForAnotherConnection_IsRefused()
    {
        var (grid, dialer, acceptor, _) = await ConnectedPairAsync();
        await using var _ = grid;
        var hello = TestHandshake.Hello(dialer, acceptor, grid.Scheduler.Now, 77);
        var first = await RawPeer.DialAsync(grid.Network, "relay-1", acceptor);
        var second = await RawPeer.DialAsync(grid.Network, "relay-2", acceptor);
        first.SendHello(hello);
        second.SendHello(hello);
        grid.RunMs(10);

        // A genuine proof (made with the secret) for the first connection's challenge, delivered on the second.
        second.Send(TestHandshake.ProofFrame(hello, first.Challenge!, new SharedSecretAuthenticator(VirtualGrid.Secret)));
        grid.RunMs(10);

        Assert.That(first.Challenge!.Nonce, Is.Not.EqualTo(second.Challenge!.Nonce), "each connection gets its own challenge");
        Assert.That(Text(second.Received.Last().Payload.ToArray()), Is.EqualTo("refused: auth"));
        Assert.That(Ask(grid, dialer, acceptor), Is.EqualTo($"{acceptor}:hi"));
    }

    [Test]
    public async Task ASecondSessionFromTheSameLiveInstance_IsRefused_AndTheLiveOneKeepsServing()
    {
        var (grid, dialer, acceptor, log) = await ConnectedPairAsync();
        await using var _ = grid;
        var live = grid[acceptor].Connection(dialer).CurrentSession!;

        var twin = await RawPeer.DialAsync(grid.Network, "twin", acceptor);
        twin.SendHello(TestHandshake.Hello(dialer, acceptor, grid.Scheduler.Now, live.RemoteInstanceId));
        grid.RunMs(10);
        twin.SendProof(new SharedSecretAuthenticator(VirtualGrid.Secret));
        grid.RunMs(10);

        Assert.That(Text(twin.Received.Last().Payload.ToArray()), Is.EqualTo("refused: duplicate"));
        Assert.That(log.Lines.Select(l => l.Text), Has.Some.Contains("while its link").And.Some.Contains("the live one stays"));
        Assert.That(grid[acceptor].Connection(dialer).CurrentSession, Is.SameAs(live));
        Assert.That(grid[dialer].Connection(acceptor).State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(Ask(grid, dialer, acceptor), Is.EqualTo($"{acceptor}:hi"));
        Assert.That(Ask(grid, acceptor, dialer), Is.EqualTo($"{dialer}:hi"));
        Assert.That(grid[acceptor].Connection(dialer).LastError, Is.Null, "the refused twin is not the connection's error");
    }

    [Test]
    public async Task ASessionFromARestartedInstance_ReplacesTheOldOne()
    {
        var (grid, dialer, acceptor, _) = await ConnectedPairAsync();
        await using var _ = grid;
        var old = grid[acceptor].Connection(dialer).CurrentSession!;

        var restarted = await RawPeer.DialAsync(grid.Network, "restarted", acceptor);
        restarted.SendHello(TestHandshake.Hello(dialer, acceptor, grid.Scheduler.Now, old.RemoteInstanceId + 1));
        grid.RunMs(10);
        restarted.SendProof(new SharedSecretAuthenticator(VirtualGrid.Secret));
        grid.RunMs(10);

        Assert.That(restarted.Received.Last().Op, Is.EqualTo(Op.ConnectProof), "the node proved itself to the new instance");
        Assert.That(grid[acceptor].Connection(dialer).CurrentSession!.RemoteInstanceId, Is.EqualTo(old.RemoteInstanceId + 1));
        Assert.That(old.IsOpen, Is.False, "the old instance's session was replaced");
    }

    [Test]
    public async Task ASessionFromTheSameInstance_ReplacesALinkThatWentSilent()
    {
        var (grid, dialer, acceptor, _) = await ConnectedPairAsync();
        await using var _ = grid;
        var old = grid[acceptor].Connection(dialer).CurrentSession!;

        // Nothing from the dialer's old link for five seconds: more than two ping intervals, less than the ping timeout.
        grid.Network.Hold(dialer, acceptor);
        grid.RunMs(5000);
        Assert.That(old.IsOpen, Is.True, "not yet declared dead by the ping timeout");
        var redial = await RawPeer.DialAsync(grid.Network, "redial", acceptor);
        redial.SendHello(TestHandshake.Hello(dialer, acceptor, grid.Scheduler.Now, old.RemoteInstanceId));
        grid.RunMs(10);
        redial.SendProof(new SharedSecretAuthenticator(VirtualGrid.Secret));
        grid.RunMs(10);

        Assert.That(redial.Received.Last().Op, Is.EqualTo(Op.ConnectProof));
        Assert.That(old.IsOpen, Is.False, "the silent link was replaced");
        grid.Network.Release(dialer, acceptor);
    }

    [Test]
    public async Task ARollingChangeOfSecrets_KeepsEveryPairTalking()
    {
        string[] names = ["a", "b", "c"];
        await using var grid = new VirtualGrid(names);
        var oldOnly = new SharedSecretAuthenticator(VirtualGrid.Secret);
        var rotating = new SharedSecretAuthenticator(NewSecret, previousSecret: VirtualGrid.Secret);
        var newOnly = new SharedSecretAuthenticator(NewSecret);
        foreach (var name in names)
        {
            RegisterBasics(grid.Start(name, grid.OptionsFor(name) with { Authenticator = oldOnly }));
        }

        grid.RunMs(100);
        AssertEveryPairTalks(grid, names, "before the change");

        // Two passes, one node restarted at a time: first to (new, previous: old), then to (new) alone.
        foreach (var (authenticator, pass) in new[] { (rotating, "old+new"), (newOnly, "new-only") })
        {
            foreach (var name in names)
            {
                await grid.StopAsync(name);
                RegisterBasics(grid.Start(name, grid.OptionsFor(name) with { Authenticator = authenticator }));
                grid.RunMs(3000); // the peers notice the restart and redial within their backoff
                AssertEveryPairTalks(grid, names, $"{name} restarted with {pass}");
            }
        }
    }

    [Test]
    public async Task OldAndNewSecretsAlone_DoNotTalk()
    {
        // The control for the rolling change: without the rotating step, nodes with only the old and only the new secret never connect.
        await using var grid = new VirtualGrid(["a", "b"]);
        grid.Start("a", grid.OptionsFor("a") with { Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret) });
        grid.Start("b", grid.OptionsFor("b") with { Authenticator = new SharedSecretAuthenticator(NewSecret) });
        grid.RunMs(3000);

        Assert.That(grid["a"].Connection("b").State, Is.Not.EqualTo(ConnectionState.Connected));
        Assert.That(grid["a"].Connection("b").LastError, Is.TypeOf<HandshakeRejectedException>());
    }

    private static void AssertEveryPairTalks(VirtualGrid grid, string[] names, string when)
    {
        Assert.That(grid.AllConnected(), Is.True, when);
        foreach (var from in names)
        {
            foreach (var to in names.Where(n => n != from))
            {
                Assert.That(Ask(grid, from, to), Is.EqualTo($"{to}:hi"), $"{from} -> {to}, {when}");
            }
        }
    }
}
