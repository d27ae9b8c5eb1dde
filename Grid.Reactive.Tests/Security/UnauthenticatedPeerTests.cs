using System.Net.WebSockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>Raw sockets that never pass the handshake, over real loopback WebSockets: they get nothing, and cost little.</summary>
public sealed class UnauthenticatedPeerTests
{
    private RealGrid _grid = null!;

    [SetUp]
    public async Task SetUp() => _grid = await RealGrid.StartAsync(2);

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    private Uri Target => new($"ws://{_grid.Nodes[0].Address}/grid/v1");

    [Test]
    public async Task HugeUnfinishedMessagesBeforeTheHandshake_AreCutOff_AndTheHeapReturnsToWhereItWas()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var chunk = new byte[1024 * 1024];
        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < 8; i++)
        {
            // Each starts a 15 MiB message and never finishes it: the node stops reading at 8 KiB and closes.
            var socket = new ClientWebSocket();
            sockets.Add(socket);
            await socket.ConnectAsync(Target, CancellationToken.None);
            var refused = false;
            for (var sent = 0; sent < 15 && !refused; sent++)
            {
                try
                {
                    await socket.SendAsync(chunk, WebSocketMessageType.Binary, endOfMessage: false, CancellationToken.None).WaitAsync(RealGrid.Guard);
                }
                catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
                {
                    refused = true;
                }
            }
        }

        // The good pair still talks.
        var echo = await _grid.From(1, 0).Request(Echo, Bytes("still here")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(echo), Does.EndWith(":still here"));
        foreach (var socket in sockets)
        {
            socket.Abort();
            socket.Dispose();
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.That(after - before, Is.LessThan(16L * 1024 * 1024), "no 15 MiB receive buffer was grown, pooled or kept");
    }

    [Test]
    public async Task SocketsThatNeverHandshake_AreCappedAndClosed_WhileGoodPeersAreServed()
    {
        await _grid.DisposeAsync();
        var addresses = new[] { FreePort.NextAddress(), FreePort.NextAddress() };
        var nodes = addresses.Select(a => new Manager(new ManagerOptions
        {
            Address = a,
            Remotes = addresses,
            Transport = new WebSocketTransport(),
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            MaxPendingHandshakes = 16,
            HandshakeTimeout = TimeSpan.FromSeconds(10), // longer than the 100 connects take, so the cap is what closes them
        })).ToArray();
        foreach (var node in nodes)
        {
            RegisterBasics(node);
            await node.StartAsync();
        }

        try
        {
            await Task.WhenAll(nodes.Select(n => n.Connections.Single().FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard)));
            var silent = new List<ClientWebSocket>();
            var refusedAtOnce = 0;
            for (var i = 0; i < 100; i++)
            {
                var socket = new ClientWebSocket();
                silent.Add(socket);
                try
                {
                    await socket.ConnectAsync(new Uri($"ws://{addresses[0]}/grid/v1"), CancellationToken.None);
                }
                catch (WebSocketException)
                {
                    refusedAtOnce++; // reset before the upgrade even completed
                }
            }

            // Beyond the cap the node closes them at once; the capped few wait out the handshake timeout.
            Assert.That(nodes[0].PendingHandshakes, Is.LessThanOrEqualTo(16), "never more links waiting for a handshake than the cap");
            var endings = await Task.WhenAll(silent.Where(s => s.State == WebSocketState.Open).Select(async socket =>
            {
                try
                {
                    await socket.ReceiveAsync(new byte[16], CancellationToken.None).WaitAsync(RealGrid.Guard);
                }
                catch (WebSocketException)
                {
                }

                return socket.CloseStatus;
            }));

            // Every receive above ended within the guard: the node closed each socket, at once or at its handshake timeout.
            Assert.That(endings, Has.Length.EqualTo(100 - refusedAtOnce));
            var echo = await nodes[1].Connections.Single().Request(Echo, Bytes("served")).ToTask().WaitAsync(RealGrid.Guard);
            Assert.That(Text(echo), Does.EndWith(":served"));
            foreach (var socket in silent)
            {
                socket.Abort();
                socket.Dispose();
            }
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            _grid = await RealGrid.StartAsync(2);
        }
    }
}
