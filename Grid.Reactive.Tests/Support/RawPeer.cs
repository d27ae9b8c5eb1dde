using System.Buffers;
using System.Collections.Concurrent;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Tests.Support;

/// <summary>
/// A hand-driven peer on a raw link: sends exactly the bytes or frames a test gives it (a lying handshake,
/// garbage, frames out of order) and records what comes back, bypassing every check of the real session.
/// </summary>
internal sealed class RawPeer : ILinkHandler
{
    private readonly ConcurrentQueue<byte[]> _outgoing = new();
    private ILink? _link;

    public List<Frame> Received { get; } = [];

    public List<byte[]> ReceivedMessages { get; } = [];

    public Exception? ClosedWith { get; private set; }

    public bool Closed { get; private set; }

    public static async Task<RawPeer> DialAsync(GridTransport transport, string from, string to)
    {
        var peer = new RawPeer();
        peer._link = await transport.DialAsync(from, to, new LinkSettings(16 * 1024 * 1024), CancellationToken.None);
        peer._link.Start(peer);
        return peer;
    }

    public void SendBytes(byte[] message)
    {
        _outgoing.Enqueue(message);
        _link!.RequestFlush();
    }

    public void Send(Frame frame)
    {
        using var buffer = new PooledBufferWriter();
        FrameCodec.Write(buffer, frame, checksum: false);
        SendBytes(buffer.WrittenMemory.ToArray());
    }

    /// <summary>Sends the dialer's hello; the acceptor's challenge comes back into <see cref="Received"/>.</summary>
    public void SendHello(HandshakeMessage hello)
    {
        Hello = hello;
        Send(TestHandshake.ConnectFrame(hello));
    }

    /// <summary>The hello sent last.</summary>
    public HandshakeMessage? Hello { get; private set; }

    /// <summary>The acceptor's challenge, once it came; null before (or after a refusal).</summary>
    public HandshakeChallenge? Challenge
    {
        get
        {
            lock (Received)
            {
                var answer = Received.LastOrDefault(f => f.Op == Op.ConnectResponse && (f.Flags & FrameFlags.Error) == 0);
                return answer.Op == Op.ConnectResponse ? HandshakeCodec.DecodeChallenge(answer.Payload) : null;
            }
        }
    }

    /// <summary>Answers the challenge received with the dialer's proof, made with <paramref name="authenticator"/>.</summary>
    public void SendProof(IGridAuthenticator authenticator) =>
        Send(TestHandshake.ProofFrame(Hello!, Challenge ?? throw new InvalidOperationException("No challenge came."), authenticator));

    /// <summary>
    /// Completes a dialer's handshake on a real-time grid as a node that advertises no optional features (seq 0, as
    /// an older node does): the hello, the acceptor's challenge, the proof made with <paramref name="authenticator"/>.
    /// </summary>
    public void Handshake(string from, string to, IGridAuthenticator authenticator)
    {
        SendHello(TestHandshake.Hello(from, to, DateTimeOffset.UtcNow, 1));
        NUnit.Framework.Assert.That(SpinWait.SpinUntil(() => Challenge is not null || Closed, RealGrid.Guard) && Challenge is not null,
            NUnit.Framework.Is.True, "the acceptor's challenge came");
        SendProof(authenticator);
    }

    public void Close() => _link!.Close(null);

    /// <summary>A copy of every frame received so far, taken under the list's lock (safe on real threads).</summary>
    public Frame[] Snapshot()
    {
        lock (Received)
        {
            return [.. Received];
        }
    }

    public void OnMessage(ReadOnlyMemory<byte> message)
    {
        // Under the list's lock, so a test on real threads can take a snapshot with lock (Received).
        lock (Received)
        {
            ReceivedMessages.Add(message.ToArray());
            var reader = new MessageReader(message.ToArray());
            while (reader.TryRead(out var frame))
            {
                Received.Add(new Frame(frame.Op, frame.MuxId, frame.Seq, frame.DeadlineMs, frame.HandlerId, frame.Flags, frame.Payload.ToArray(), frame.Subroute));
            }
        }
    }

    public bool TryWriteMessage(PooledBufferWriter output)
    {
        if (!_outgoing.TryDequeue(out var message))
        {
            return false;
        }

        output.Write(message);
        return true;
    }

    public void OnClosed(Exception? error)
    {
        Closed = true;
        ClosedWith = error;
    }
}
