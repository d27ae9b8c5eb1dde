using System.Net.WebSockets;
using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Connections;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Requests;

/// <summary>Every bound is a named option with a clear error, and reaching one fails a call, never the connection.</summary>
public sealed class LimitTests
{
    private static readonly HandlerId Big = new(30);

    private static async Task<Manager[]> StartPairAsync(int maxA, int maxB, CapturingLogger log)
    {
        var addresses = new[] { FreePort.NextAddress(), FreePort.NextAddress() };
        var nodes = new[] { maxA, maxB }.Select((max, i) => new Manager(new ManagerOptions
        {
            Address = addresses[i],
            Remotes = addresses,
            Transport = new WebSocketTransport(),
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            MaxMessageSize = max,
            MaxMergedMessageSize = Math.Min(max, 64 * 1024),
            Logger = log,
        })).ToArray();
        foreach (var node in nodes)
        {
            RegisterBasics(node);
            node.Register(Big, (payload, _) => ValueTask.FromResult(new byte[BitConverter.ToInt32(payload)]));
            await node.StartAsync();
        }

        await Task.WhenAll(nodes.SelectMany(n => n.Connections)
            .Select(c => c.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard)));
        return nodes;
    }

    [Test]
    public async Task Sizes_AreExchanged_ACallOrAnswerOverThePeersLimit_FailsThatCallOnly_OnRealWebSockets()
    {
        var log = new CapturingLogger();
        var nodes = await StartPairAsync(1024 * 1024, 64 * 1024, log);
        try
        {
            var aToB = nodes[0].Connection(nodes[1].Address);
            var bToA = nodes[1].Connection(nodes[0].Address);
            var changes = new List<ConnectionState>();
            using var watchA = aToB.Skip(1).Subscribe(s => { lock (changes) { changes.Add(s); } });
            using var watchB = bToA.Skip(1).Subscribe(s => { lock (changes) { changes.Add(s); } });

            // Legal for a (1 MiB), too large for b (64 KiB): refused before it is sent.
            var tooLarge = Assert.ThrowsAsync<MessageTooLargeException>(async () =>
                await aToB.Request(Echo, new byte[100 * 1024]).ToTask().WaitAsync(RealGrid.Guard));
            Assert.That(tooLarge!.Message, Does.Contain("102400 bytes").And.Contain(nodes[1].Address));

            // b asks a for an answer b cannot take: a sends an error instead, and says so in its log.
            var answerTooLarge = Assert.ThrowsAsync<MessageTooLargeException>(async () =>
                await bToA.Request(Big, BitConverter.GetBytes(200 * 1024)).ToTask().WaitAsync(RealGrid.Guard));
            Assert.That(answerTooLarge!.Message, Does.Contain("204800 bytes"));
            Assert.That(log.Lines.Any(l => l.Text.Contains("not sent", StringComparison.Ordinal)), Is.True);

            // Both limits are met on the same connection, which lived through it all.
            Assert.That(Text(await aToB.Request(Echo, Bytes("still")).ToTask().WaitAsync(RealGrid.Guard)), Does.EndWith(":still"));
            Assert.That((await bToA.Request(Big, BitConverter.GetBytes(60 * 1024)).ToTask().WaitAsync(RealGrid.Guard)).Length, Is.EqualTo(60 * 1024));
            Assert.That(aToB.State, Is.EqualTo(ConnectionState.Connected));
            lock (changes)
            {
                Assert.That(changes, Is.Empty, "the connection never dropped");
            }
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task CallsInFlight_BeyondThePeersFigure_FailWithBusy_AndFreedSlotsAreUsedAgain()
    {
        await using var grid = new VirtualGrid(["a", "b"], o => o with { MaxCallsInFlight = 2 }).StartAll();
        var hanging = new Hanging(grid.Scheduler);
        grid["b"].Register(Hang, hanging.Serve);
        grid.RunMs(10);
        var ab = grid["a"].Connection("b");

        var first = ab.Request(Hang, Bytes("1")).Subscribe(_ => { }, _ => { });
        using var second = ab.Request(Hang, Bytes("2")).Subscribe(_ => { }, _ => { });
        var third = grid.Scheduler.CreateObserver<byte[]>();
        ab.Request(Hang, Bytes("3")).Subscribe(third);
        grid.RunMs(10);

        Assert.That(third.Messages.Single().Value.Exception, Is.TypeOf<BusyException>().With.Message.Contains("MaxCallsInFlight"));
        Assert.That(hanging.Calls, Is.EqualTo(2), "the refused call was never sent");

        first.Dispose();
        using var fourth = ab.Request(Hang, Bytes("4")).Subscribe(_ => { }, _ => { });
        grid.RunMs(10);
        Assert.That(hanging.Calls, Is.EqualTo(3));
        Assert.That(ab.State, Is.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public async Task APeerThatStopsReading_CannotMakeTheNodeBufferWithoutBound()
    {
        const int requests = 4000;
        const int answerBytes = 64 * 1024;
        var log = new CapturingLogger();
        var address = FreePort.NextAddress();
        var peerName = Enumerable.Range(0, 100).Select(i => "raw-" + i).First(p => DialDirection.ShouldDial(p, address));
        var served = 0;
        await using var node = new Manager(new ManagerOptions
        {
            Address = address,
            Remotes = [address, peerName],
            Transport = new WebSocketTransport(),
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            MaxQueuedBytes = 1024 * 1024,
            Logger = log,
        });
        node.Register(Big, (_, _) =>
        {
            Interlocked.Increment(ref served);
            return ValueTask.FromResult(new byte[answerBytes]);
        });
        await node.StartAsync();
        var heldBack = log.WaitForAsync("holding back");

        // A peer that handshakes, asks for 4,000 answers of 64 KiB, and never reads one.
        using var raw = await RawSocket.ConnectAsync(address);
        var socket = raw.Socket;
        var (_, _, answer) = await raw.HandshakeAsync(peerName, address, 42, new SharedSecretAuthenticator(VirtualGrid.Secret));
        Assert.That(answer?.Op, Is.EqualTo(Op.ConnectProof), "the node proved itself: the handshake passed");
        // In waves, each sent once the node has taken the one before (served it or held it back), as requests of a
        // live peer arrive over time rather than all before the first answer is queued.
        for (var i = 1; i <= requests; i++)
        {
            await SendAsync(socket, new Frame(Op.Request, (ulong)i, deadlineMs: 600_000, handlerId: Big.Value, flags: FrameFlags.Empty));
            if (i % 50 == 0)
            {
                var sent = i;
                Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref served) >= sent
                    || (heldBack.IsCompleted && node.PendingCalls() + Volatile.Read(ref served) >= sent), RealGrid.Guard), Is.True);
            }
        }

        if (await Task.WhenAny(heldBack, Task.Delay(RealGrid.Guard)) != heldBack)
        {
            Assert.Fail($"never held back: served {served}, pending {node.PendingCalls()}, state {node.Connection(peerName).State}, log: {string.Join(" | ", log.Lines.Select(l => l.Text))}");
        }
        var session = node.Connection(peerName);
        Assert.That(SpinWait.SpinUntil(() => node.PendingCalls() + Volatile.Read(ref served) >= requests, RealGrid.Guard), Is.True,
            "every request arrived: served, or pending");

        // Answers go out only as far as the socket takes them and the 1 MiB budget allows; the rest wait unserved.
        Assert.That(served, Is.LessThan(requests / 4), "handlers of calls beyond the budget are held back");
        Assert.That(session.State, Is.EqualTo(ConnectionState.Connected));
        socket.Abort();
    }

    private static async Task SendAsync(ClientWebSocket socket, Frame frame)
    {
        using var buffer = new PooledBufferWriter();
        FrameCodec.Write(buffer, frame, checksum: false);
        await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
    }

    [Test]
    public async Task AStreamMessageOverTheReceiversLimit_IsRefusedAtTheSender_AndTheStreamAndConnectionLiveOn()
    {
        var sum = new HandlerId(31);
        await using var grid = new VirtualGrid(["a", "b"], o => o with
        {
            MaxMessageSize = o.Address == "b" ? 64 * 1024 : 1024 * 1024,
            MaxMergedMessageSize = 32 * 1024,
        }).StartAll();
        grid["b"].RegisterStream(sum, (_, incoming) => incoming.Select(m => BitConverter.GetBytes(m.Length)));
        grid.RunMs(10);
        var stream = grid["a"].Connection("b").NewStream(sum);
        var received = grid.Scheduler.CreateObserver<int>();
        stream.Select(m => BitConverter.ToInt32(m)).Subscribe(received);
        grid.RunMs(10);

        // Legal for a (1 MiB), too large for b (64 KiB): refused before it is sent, so b's link never sees it.
        Assert.That(() => stream.SendAsync(new byte[100 * 1024]), Throws.TypeOf<MessageTooLargeException>().With.Message.Contains("65216 bytes"));
        var small = stream.SendAsync(new byte[10]);
        grid.RunMs(10);

        Assert.That(small.IsCompletedSuccessfully, Is.True);
        Assert.That(received.Messages.Select(m => m.Value.Value), Is.EqualTo(new[] { 10 }));
        Assert.That(grid["a"].Connection("b").State, Is.EqualTo(ConnectionState.Connected));
    }
}
