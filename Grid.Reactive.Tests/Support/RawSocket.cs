using System.Net.WebSockets;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Tests.Support;

/// <summary>
/// A hostile (or just hand-driven) peer on a real loopback WebSocket to a node's grid path: sends exactly the bytes
/// or frames a test gives it, reads whole messages back, and can pass the dialer's side of the handshake by hand.
/// Every wait is bounded by <see cref="RealGrid.Guard"/>.
/// </summary>
internal sealed class RawSocket : IDisposable
{
    private RawSocket(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public static async Task<RawSocket> ConnectAsync(string address)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{address}/grid/v1"), CancellationToken.None).WaitAsync(RealGrid.Guard);
        return new RawSocket(socket);
    }

    public Task SendAsync(Frame frame) => SendBytesAsync(Encode(frame));

    public Task SendBytesAsync(byte[] message, WebSocketMessageType type = WebSocketMessageType.Binary, bool endOfMessage = true) =>
        Socket.SendAsync(message, type, endOfMessage, CancellationToken.None).WaitAsync(RealGrid.Guard);

    public static byte[] Encode(Frame frame)
    {
        using var buffer = new PooledBufferWriter();
        FrameCodec.Write(buffer, frame, checksum: false);
        return buffer.WrittenMemory.ToArray();
    }

    /// <summary>The first frame of the next whole message, payload copied; null when the node closed the socket.</summary>
    public async Task<Frame?> ReceiveAsync() => await ReceiveAllAsync() is { } frames ? frames[0] : null;

    /// <summary>Every frame of the next whole message (merged ones unpacked), payloads copied; null when the node closed the socket.</summary>
    public async Task<List<Frame>?> ReceiveAllAsync()
    {
        var buffer = new byte[64 * 1024];
        var count = 0;
        try
        {
            while (true)
            {
                var result = await Socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None).AsTask().WaitAsync(RealGrid.Guard);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                count += result.Count;
                if (result.EndOfMessage)
                {
                    var reader = new MessageReader(buffer.AsMemory(0, count).ToArray());
                    var frames = new List<Frame>();
                    while (reader.TryRead(out var frame))
                    {
                        frames.Add(new Frame(frame.Op, frame.MuxId, frame.Seq, frame.DeadlineMs, frame.HandlerId, frame.Flags, frame.Payload.ToArray(), frame.Subroute));
                    }

                    return frames;
                }

                if (count == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException)
        {
            return null;
        }
    }

    /// <summary>Reads until a frame matches; false when the node closed the socket first.</summary>
    public async Task<bool> ReceiveUntilAsync(Func<Frame, bool> match)
    {
        while (await ReceiveAllAsync() is { } frames)
        {
            if (frames.Any(match))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Reads until the node closes the socket (within the guard, else it throws); the status and description of the
    /// node's close, both null when it cut the connection without one.
    /// </summary>
    public async Task<(WebSocketCloseStatus? Status, string? Description)> ClosedByNodeAsync()
    {
        while (await ReceiveAllAsync() is not null)
        {
        }

        return (Socket.CloseStatus, Socket.CloseStatusDescription);
    }

    /// <summary>The next frame that is not a ping, pong or other traffic of an open link: the handshake's answers.</summary>
    public async Task<Frame?> ReceiveHandshakeAsync()
    {
        while (await ReceiveAsync() is { } frame)
        {
            if (frame.Op is Op.ConnectResponse or Op.ConnectProof)
            {
                return frame;
            }
        }

        return null;
    }

    /// <summary>Passes the dialer's side of the handshake; returns the frames it sent (to replay them) and the node's last answer.</summary>
    public async Task<(Frame Hello, Frame Proof, Frame? Answer)> HandshakeAsync(string from, string to, ulong instanceId, IGridAuthenticator authenticator)
    {
        var hello = TestHandshake.Hello(from, to, DateTimeOffset.UtcNow, instanceId);
        var helloFrame = TestHandshake.ConnectFrame(hello);
        await SendAsync(helloFrame);
        var challengeFrame = await ReceiveHandshakeAsync();
        if (challengeFrame is not { Op: Op.ConnectResponse } c || (c.Flags & FrameFlags.Error) != 0)
        {
            throw new InvalidOperationException($"No challenge: {challengeFrame}");
        }

        var proof = TestHandshake.ProofFrame(hello, HandshakeCodec.DecodeChallenge(c.Payload), authenticator);
        await SendAsync(proof);
        return (helloFrame, proof, await ReceiveHandshakeAsync());
    }

    public void Dispose()
    {
        Socket.Abort();
        Socket.Dispose();
    }
}
