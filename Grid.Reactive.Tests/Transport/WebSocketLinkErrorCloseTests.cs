using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Tests.Transport;

/// <summary>
/// A WebSocket link closed by an error, over a real loopback TCP connection: the peer learns why from a close frame,
/// and a peer that does not read holds the link's socket no longer than the link's bound.
/// </summary>
public sealed class WebSocketLinkErrorCloseTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    /// <summary>The two ends of a loopback TCP connection as WebSockets (no HTTP upgrade): the link's end, and the peer's.</summary>
    private static async Task<(WebSocket Node, WebSocket Peer, Socket PeerSocket)> PairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        var accepting = listener.AcceptSocketAsync();
        await peer.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var node = await accepting.WaitAsync(Guard);
        node.SendBufferSize = 4096;
        return (WebSocket.CreateFromStream(new NetworkStream(node, ownsSocket: true), isServer: true, subProtocol: null, TimeSpan.Zero),
            WebSocket.CreateFromStream(new NetworkStream(peer, ownsSocket: true), isServer: false, subProtocol: null, TimeSpan.Zero), peer);
    }

    [Test]
    public async Task AnErrorClose_WhileASendIsStuckOnAPeerThatDoesNotRead_EndsTheLinkWithinItsBound()
    {
        var (nodeSocket, peerSocket, peerTcp) = await PairAsync();
        using var peer = peerSocket;
        var link = new WebSocketLink(nodeSocket, maxMessageSize: 1 << 20, receiveBufferSize: 4096, "stuck", admitted: true);
        var handler = new RecordingLinkHandler();
        handler.Attach(link);

        // The peer never reads and both sockets' buffers are 4 KiB: the writer's first 64 KiB message cannot go out
        // whole, so once its first bytes reach the peer, its send is stuck (4 MiB queued in all).
        handler.Send([.. Enumerable.Range(0, 64).Select(_ => new byte[64 * 1024])]);
        Assert.That(SpinWait.SpinUntil(() => peerTcp.Available > 0, Guard), Is.True, "the writer's send began");

        link.Close(new ProtocolException("the peer sent something malformed"));

        // Without a bound the stuck send (and so the link) would wait for the peer to read, for ever.
        await link.Ended.WaitAsync(Guard);
        Assert.That(await handler.Closed.WaitAsync(Guard), Is.TypeOf<ProtocolException>());
    }

    [Test]
    public async Task AnErrorClose_TellsAReadingPeer_ProtocolError_WithTheFixedDescriptionOnly()
    {
        var (nodeSocket, peerSocket, _) = await PairAsync();
        using var peer = peerSocket;
        var link = new WebSocketLink(nodeSocket, maxMessageSize: 1 << 20, receiveBufferSize: 4096, "reading", admitted: true);
        var handler = new RecordingLinkHandler();
        handler.Attach(link);

        link.Close(new ProtocolException("frame 7 claims 4 GiB"));
        var result = await peer.ReceiveAsync(new byte[16], CancellationToken.None).WaitAsync(Guard);

        Assert.That(result.MessageType, Is.EqualTo(WebSocketMessageType.Close));
        Assert.That((peer.CloseStatus, peer.CloseStatusDescription), Is.EqualTo(((WebSocketCloseStatus?)WebSocketCloseStatus.ProtocolError, "protocol error")));
        await link.Ended.WaitAsync(Guard);
    }
}
