using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// Plain TCP sockets that never send an upgrade request, against a self-hosted node over real loopback: each holds one of
/// the process's open files, so the listener bounds how many it keeps (<see cref="WebSocketTransportOptions.MaxConnections"/>)
/// and for how long (<see cref="WebSocketTransportOptions.UpgradeTimeout"/>). Past the process's open-file limit the
/// runtime stops the whole process ("Out of memory."), so these bounds are what keeps a flood from killing a node.
/// </summary>
public sealed class SocketFloodTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    private static async Task<Manager[]> StartPairAsync(WebSocketTransportOptions acceptorTransport)
    {
        var addresses = new[] { FreePort.NextAddress(), FreePort.NextAddress() };
        var nodes = addresses.Select((a, i) => new Manager(new ManagerOptions
        {
            Address = a,
            Remotes = addresses,
            Transport = new WebSocketTransport(i == 0 ? acceptorTransport : new WebSocketTransportOptions()),
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
        })).ToArray();
        foreach (var node in nodes)
        {
            RegisterBasics(node);
            await node.StartAsync();
        }

        await nodes[0].Connection(nodes[1].Address).FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        await nodes[1].Connection(nodes[0].Address).FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        return nodes;
    }

    private static async Task<Socket> OpenAsync(string address)
    {
        var colon = address.LastIndexOf(':');
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(address[..colon], int.Parse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        return socket;
    }

    /// <summary>True once the node has closed the socket (a read ends), false if it is still open when the guard passes.</summary>
    private static async Task<bool> ClosedByNodeAsync(Socket socket, TimeSpan guard)
    {
        var buffer = new byte[64];
        using var timeout = new CancellationTokenSource(guard);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Test]
    public async Task SocketsBeyondMaxConnections_AreClosedAtOnce_TheOthersAreHeld_AndTheGridStillTalks()
    {
        const int Cap = 8;
        var nodes = await StartPairAsync(new WebSocketTransportOptions { MaxConnections = Cap, UpgradeTimeout = Long });
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 3 * Cap; i++)
            {
                sockets.Add(await OpenAsync(nodes[0].Address));
            }

            // Every socket past the cap is closed without waiting for any timeout; at most Cap stay open.
            var closed = await Task.WhenAll(sockets.Select(s => ClosedByNodeAsync(s, TimeSpan.FromSeconds(10))));
            Assert.That(closed.Count(c => c), Is.GreaterThanOrEqualTo(2 * Cap), "sockets past MaxConnections closed at once");
            Assert.That(closed.Count(c => !c), Is.GreaterThan(0).And.LessThanOrEqualTo(Cap), "the listener held up to MaxConnections, no more");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        // The flood gone, the pair (its link upgraded, counted apart) still talks both ways.
        var echo = await nodes[1].Connection(nodes[0].Address).Request(Echo, Bytes("after")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(echo), Does.EndWith(":after"));
        echo = await nodes[0].Connection(nodes[1].Address).Request(Echo, Bytes("back")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(echo), Does.EndWith(":back"));
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }
    }

    [Test]
    public async Task ASocketThatNeverSendsItsUpgradeRequest_IsClosedAfterUpgradeTimeout()
    {
        var nodes = await StartPairAsync(new WebSocketTransportOptions { UpgradeTimeout = TimeSpan.FromSeconds(1) });
        try
        {
            using var silent = await OpenAsync(nodes[0].Address);
            using var dribbling = await OpenAsync(nodes[0].Address);
            await dribbling.SendAsync("GET /grid/v1 HTTP/1.1\r\n"u8.ToArray(), SocketFlags.None); // and nothing more

            // Kestrel's own default would hold them for minutes (KeepAliveTimeout 130 s, RequestHeadersTimeout 30 s).
            Assert.That(await ClosedByNodeAsync(silent, RealGrid.Guard), Is.True, "a silent socket is closed");
            Assert.That(await ClosedByNodeAsync(dribbling, RealGrid.Guard), Is.True, "a socket sending its request slowly is closed");
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
    public async Task TheLargestBounds_AreAccepted_AndTheGridTalks()
    {
        var nodes = await StartPairAsync(new WebSocketTransportOptions { MaxConnections = int.MaxValue, UpgradeTimeout = TimeSpan.MaxValue });
        try
        {
            var echo = await nodes[1].Connection(nodes[0].Address).Request(Echo, Bytes("max")).ToTask().WaitAsync(RealGrid.Guard);
            Assert.That(Text(echo), Does.EndWith(":max"));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [TestCase(null, 4096)]
    [TestCase(1_048_576L, 4096)]
    [TestCase(20_000L, 4096)]
    [TestCase(1024L, 384)]
    [TestCase(200L, 16)]
    public void TheDefaultMaxConnections_FitsTheProcesssOpenFileLimit(long? softLimit, int expected) =>
        Assert.That(OpenFileLimit.DefaultFor(softLimit), Is.EqualTo(expected));

    [Test]
    public void TheOpenFileLimit_IsReadFromProcLimits()
    {
        const string Limits = "Limit                     Soft Limit           Hard Limit           Units     \n" +
            "Max processes             95142                95142                processes \n" +
            "Max open files            1024                 524288               files     \n";
        Assert.That(OpenFileLimit.Parse(Limits), Is.EqualTo(1024));
        Assert.That(OpenFileLimit.Parse(Limits.Replace("1024 ", "unlimited", StringComparison.Ordinal)), Is.Null);
        Assert.That(OpenFileLimit.Parse("Max cpu time unlimited"), Is.Null);
        Assert.That(new WebSocketTransportOptions().MaxConnections, Is.EqualTo(OpenFileLimit.DefaultMaxConnections));
    }

    [Test]
    public void TheBoundsAreCheckedWhenTheTransportIsMade()
    {
        Assert.That(() => new WebSocketTransport(new WebSocketTransportOptions { MaxConnections = 0 }),
            Throws.ArgumentException.With.Message.Contains("MaxConnections (0) must be at least 1"));
        Assert.That(() => new WebSocketTransport(new WebSocketTransportOptions { UpgradeTimeout = TimeSpan.FromMilliseconds(500) }),
            Throws.ArgumentException.With.Message.Contains("UpgradeTimeout (00:00:00.5000000) must be at least 1 second"));
    }
}
