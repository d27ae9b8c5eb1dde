using System.Net.WebSockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Grid.Reactive.Connections;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// A hostile peer speaking raw bytes to a node over real loopback WebSockets, while a good peer keeps calling the
/// same node: every attack ends with the attacker refused or cut off, and every call of the good peer answered, on
/// the same connection it had before.
/// </summary>
public sealed class HostilePeerTests
{
    private const int CallsBound = 64;
    private static readonly HandlerId Hang = new(3);
    private static readonly HandlerId Endless = new(40);

    private Manager _target = null!;
    private Manager _good = null!;
    private string _phantom = null!;
    private CapturingLogger _log = null!;
    private readonly List<Frame> _handshakeFrames = [];
    private Session? _goodSession;

    [SetUp]
    public async Task SetUp()
    {
        var target = FreePort.NextAddress();
        var good = FreePort.NextAddress();

        // A known name nobody serves, on the dialing side of both pairs: the attacker plays it, and no node dials it.
        _phantom = Enumerable.Range(0, 1000).Select(_ => FreePort.NextAddress())
            .First(a => DialDirection.ShouldDial(a, target) && DialDirection.ShouldDial(a, good));
        _log = new CapturingLogger();
        string[] remotes = [target, good, _phantom];
        _target = new Manager(Options(target, remotes) with { Logger = _log });
        _good = new Manager(Options(good, remotes));
        foreach (var node in new[] { _target, _good })
        {
            RegisterBasics(node);
            node.Register(Hang, (_, ct) =>
            {
                var never = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
                ct.Register(() => never.TrySetCanceled(ct));
                return new ValueTask<byte[]>(never.Task);
            });
            node.RegisterStream(Endless, (_, _) => Observable.Never<byte[]>());
        }

        // Capture the handshake of the good pair as an eavesdropper would.
        foreach (var connection in new[] { _target.Connection(good), _good.Connection(target) })
        {
            connection.FramesOut.Where(f => f.Op is Op.Connect or Op.ConnectProof).Subscribe(f =>
            {
                lock (_handshakeFrames)
                {
                    _handshakeFrames.Add(f);
                }
            });
        }

        await _target.StartAsync();
        await _good.StartAsync();
        await _good.Connection(target).FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        await _target.Connection(good).FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        _goodSession = _target.Connection(good).CurrentSession;
    }

    private static ManagerOptions Options(string address, string[] remotes) => new()
    {
        Address = address,
        Remotes = remotes,
        Transport = new WebSocketTransport(),
        Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
        MaxCallsInFlight = CallsBound,
        Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
    };

    [TearDown]
    public async Task TearDown()
    {
        await _target.DisposeAsync();
        await _good.DisposeAsync();
    }

    /// <summary>Runs <paramref name="attack"/> while the good peer calls the target in a loop; then checks the good peer was served throughout.</summary>
    private async Task UnderAttack(Func<Task> attack)
    {
        using var stop = new CancellationTokenSource();
        var served = 0;
        var failures = new List<string>();
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var answer = await _good.Connection(_target.Address).Request(Echo, Bytes("good"), TimeSpan.FromSeconds(20)).ToTask();
                    if (Text(answer) == _target.Address + ":good")
                    {
                        Interlocked.Increment(ref served);
                    }
                    else
                    {
                        lock (failures) { failures.Add("wrong answer " + Text(answer)); }
                    }
                }
                catch (Exception ex)
                {
                    lock (failures) { failures.Add(ex.GetType().Name + ": " + ex.Message); }
                }
            }
        });

        // The good peer is being served before the attack starts, and goes on calling while it runs.
        Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref served) > 0, RealGrid.Guard), Is.True);
        await attack();
        var after = await _good.Connection(_target.Address).Request(Echo, Bytes("after"), TimeSpan.FromSeconds(20)).ToTask().WaitAsync(RealGrid.Guard);
        await stop.CancelAsync();
        await traffic.WaitAsync(RealGrid.Guard);

        Assert.That(failures, Is.Empty, "every call of the good peer was answered");
        Assert.That(Text(after), Is.EqualTo(_target.Address + ":after"));
        Assert.That(_target.Connection(_good.Address).CurrentSession, Is.SameAs(_goodSession), "the good pair's session was never replaced");
        Assert.That(_good.Connection(_target.Address).State, Is.EqualTo(ConnectionState.Connected));
    }

    private async Task<RawSocket> ConnectAsync() => await RawSocket.ConnectAsync(_target.Address);

    [Test]
    public async Task ACapturedHandshake_ReplayedFromAThirdSocket_IsRefused() => await UnderAttack(async () =>
    {
        Assert.That(SpinWait.SpinUntil(() => { lock (_handshakeFrames) { return _handshakeFrames.Count >= 2; } }, RealGrid.Guard), Is.True);
        Frame hello, proof;
        lock (_handshakeFrames)
        {
            hello = _handshakeFrames.First(f => f.Op == Op.Connect);
            proof = _handshakeFrames.First(f => f.Op == Op.ConnectProof && (f.Flags & FrameFlags.Error) == 0);
        }

        var dialedTarget = HandshakeCodec.Decode(hello.Payload).To == _target.Address;
        using var raw = await RawSocket.ConnectAsync(dialedTarget ? _target.Address : _good.Address);
        await raw.SendAsync(hello);
        var challenge = await raw.ReceiveHandshakeAsync();
        Assert.That(challenge?.Op, Is.EqualTo(Op.ConnectResponse));
        await raw.SendAsync(proof);
        var answer = await raw.ReceiveHandshakeAsync();
        Assert.That(Text(answer!.Value.Payload.ToArray()), Is.EqualTo("refused: auth"));
    });

    [Test]
    public async Task AProofRelayedToAnotherConnection_IsRefused() => await UnderAttack(async () =>
    {
        using var first = await ConnectAsync();
        using var second = await ConnectAsync();
        var hello = TestHandshake.Hello(_phantom, _target.Address, DateTimeOffset.UtcNow, 5);
        await first.SendAsync(TestHandshake.ConnectFrame(hello));
        await second.SendAsync(TestHandshake.ConnectFrame(hello));
        var challenge = HandshakeCodec.DecodeChallenge((await first.ReceiveHandshakeAsync())!.Value.Payload);
        _ = await second.ReceiveHandshakeAsync();

        await second.SendAsync(TestHandshake.ProofFrame(hello, challenge, new SharedSecretAuthenticator(VirtualGrid.Secret)));

        Assert.That(Text((await second.ReceiveHandshakeAsync())!.Value.Payload.ToArray()), Is.EqualTo("refused: auth"));
    });

    [Test]
    public async Task AHandshakeWithAWrongSecret_IsRefused() => await UnderAttack(async () =>
    {
        using var raw = await ConnectAsync();
        var (_, _, answer) = await raw.HandshakeAsync(_phantom, _target.Address, 9, new SharedSecretAuthenticator(Encoding.UTF8.GetBytes("a-guess-at-the-grid-secret")));
        Assert.That(Text(answer!.Value.Payload.ToArray()), Is.EqualTo("refused: auth"));
        Assert.That(_log.Lines.Select(l => l.Text), Has.Some.Contains($"authentication of '{_phantom}' failed"));
    });

    [TestCase("garbage")]
    [TestCase("lying length")]
    [TestCase("text message")]
    public async Task MalformedInputBeforeTheHandshake_ClosesTheSocket(string kind) => await UnderAttack(async () =>
    {
        using var raw = await ConnectAsync();
        switch (kind)
        {
            case "garbage":
                var bytes = new byte[1000];
                new Random(kind.Length).NextBytes(bytes);
                await raw.SendBytesAsync(bytes);
                break;
            case "lying length":
                await raw.SendBytesAsync(Convert.FromHexString("97010000000600C6FFFFFFFF00")); // a payload claiming 4 GiB
                break;
            default:
                await raw.SendBytesAsync(Bytes("{\"op\":\"connect\"}"), WebSocketMessageType.Text);
                break;
        }

        // The close says what kind of error, never the decoder's own words (they would tell an attacker what it got wrong).
        Assert.That(await raw.ClosedByNodeAsync(), Is.EqualTo(((WebSocketCloseStatus?)WebSocketCloseStatus.ProtocolError, "protocol error")));
    });

    [Test]
    [Category("Stress")]
    public async Task AThousandSocketsThatNeverHandshake_AreCapped_AndTheHeapReturns()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var pendingSeen = 0;
        await UnderAttack(async () =>
        {
            var sockets = new List<ClientWebSocket>();
            for (var i = 0; i < 1000; i++)
            {
                var socket = new ClientWebSocket();
                sockets.Add(socket);
                try
                {
                    await socket.ConnectAsync(new Uri($"ws://{_target.Address}/grid/v1"), CancellationToken.None).WaitAsync(RealGrid.Guard);
                }
                catch (WebSocketException)
                {
                    // closed at once beyond the cap, sometimes before the upgrade completed
                }

                pendingSeen = Math.Max(pendingSeen, _target.PendingHandshakes);
            }

            foreach (var socket in sockets)
            {
                socket.Abort();
                socket.Dispose();
            }

            Assert.That(SpinWait.SpinUntil(() => _target.PendingHandshakes == 0, RealGrid.Guard), Is.True, "every silent link ended");
        });

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.That(pendingSeen, Is.LessThanOrEqualTo(256), "never more links waiting for a handshake than MaxPendingHandshakes");
        Assert.That(after - before, Is.LessThan(8L * 1024 * 1024), $"the heap returned near where it was ({before:N0} -> {after:N0} bytes)");
    }

    [Test]
    public async Task AFloodOfRequestsAfterAValidHandshake_BeyondMaxCallsInFlight_ClosesThatLinkOnly() => await UnderAttack(async () =>
    {
        using var raw = await ConnectAsync();
        var (_, _, answer) = await raw.HandshakeAsync(_phantom, _target.Address, 11, new SharedSecretAuthenticator(VirtualGrid.Secret));
        Assert.That(answer?.Op, Is.EqualTo(Op.ConnectProof));
        for (var i = 1; i <= 4 * CallsBound; i++)
        {
            try
            {
                await raw.SendAsync(new Frame(Op.Request, (ulong)i, deadlineMs: 600_000, handlerId: Hang.Value, flags: FrameFlags.Empty));
            }
            catch (Exception ex) when (ex is WebSocketException or IOException)
            {
                break; // already cut off
            }
        }

        var (status, description) = await raw.ClosedByNodeAsync();
        Assert.That(status, Is.EqualTo(WebSocketCloseStatus.ProtocolError).Or.Null, "a protocol error, or cut while the peer still sent");
        Assert.That(description, Is.EqualTo("protocol error").Or.Null, "the detail is in the node's log, not on the wire");
        Assert.That(_log.Lines.Select(l => l.Text), Has.Some.Contains("beyond the MaxCallsInFlight"));
    });

    [Test]
    public async Task AFloodOfStreamOpensAfterAValidHandshake_IsRefusedBeyondTheBound_AndTheTableStaysBounded() => await UnderAttack(async () =>
    {
        using var raw = await ConnectAsync();
        var (_, _, answer) = await raw.HandshakeAsync(_phantom, _target.Address, 12, new SharedSecretAuthenticator(VirtualGrid.Secret));
        Assert.That(answer?.Op, Is.EqualTo(Op.ConnectProof));
        var busy = 0;
        var receiving = Task.Run(async () => await raw.ReceiveUntilAsync(f =>
        {
            if (f.Op == Op.StreamConnectError && f.Seq == (uint)ErrorCode.Busy)
            {
                busy++;
            }

            return busy == 3 * CallsBound;
        }));
        for (var i = 1; i <= 4 * CallsBound; i++)
        {
            await raw.SendAsync(new Frame(Op.StreamConnect, (ulong)i, handlerId: Endless.Value, flags: FrameFlags.Empty));
        }

        Assert.That(await receiving.WaitAsync(RealGrid.Guard), Is.True, "each open beyond the bound is refused as busy, and the link stays up");
        Assert.That(_target.Connection(_phantom).CurrentSession!.PendingStreams, Is.LessThanOrEqualTo(CallsBound));
    });
}
