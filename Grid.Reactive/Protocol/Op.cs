namespace Grid.Reactive;

/// <summary>
/// What a <see cref="Frame"/> asks the receiving side to do. One byte on the wire.
/// "Client" is the side that issued a request or opened a stream on the connection, "server" the side that serves it;
/// both sides of a connection play both roles for different mux ids.
/// </summary>
public enum Op : byte
{
    /// <summary>Handshake sent by the dialing side as its first frame: payload is the dialer's hello (its names, instance and a fresh nonce).</summary>
    Connect = 1,

    /// <summary>
    /// Answer to <see cref="Connect"/>: the acceptor's challenge (its instance and a fresh nonce), or with
    /// <see cref="FrameFlags.Error"/> the code of a refusal (also after the dialer's <see cref="ConnectProof"/>).
    /// </summary>
    ConnectResponse = 2,

    /// <summary>Liveness probe. Mux id 0 probes the connection; a non-zero mux id probes that stream.</summary>
    Ping = 3,

    /// <summary>Answer to <see cref="Ping"/>, echoing its mux id; for a stream that no longer exists it carries <see cref="FrameFlags.Error"/>.</summary>
    Pong = 4,

    /// <summary>A single request: handler id, optional subroute, deadline and payload. The mux id is chosen by the caller.</summary>
    Request = 5,

    /// <summary>The answer to a <see cref="Request"/> with the same mux id: a payload, or with <see cref="FrameFlags.Error"/> an error text.</summary>
    Response = 6,

    /// <summary>The caller gave up on a <see cref="Request"/> (disposed or timed out): the handler's cancellation token fires and no answer is expected.</summary>
    RequestCancel = 7,

    /// <summary>Opens a stream: handler id, optional subroute, deadline and the initial payload.</summary>
    StreamConnect = 8,

    /// <summary>The server accepted a <see cref="StreamConnect"/>; the sequence number carries the client's initial send credit.</summary>
    StreamAck = 9,

    /// <summary>The server refused a <see cref="StreamConnect"/> (unknown handler, or the handler's own error): payload is the error text.</summary>
    StreamConnectError = 10,

    /// <summary>A stream message from client to server; the sequence number orders messages per stream.</summary>
    StreamMessageToServer = 11,

    /// <summary>A stream message from server to client; the sequence number orders messages per stream.</summary>
    StreamMessageToClient = 12,

    /// <summary>Credit granted to the server: it may send this many more messages (the sequence number holds the count).</summary>
    StreamCreditToServer = 13,

    /// <summary>Credit granted to the client: it may send this many more messages (the sequence number holds the count).</summary>
    StreamCreditToClient = 14,

    /// <summary>
    /// The client closes its side of a stream: with <see cref="FrameFlags.Eof"/> its input ended normally (the
    /// sequence number holds how many messages it sent), with <see cref="FrameFlags.Error"/> it failed (payload is the
    /// error text), with neither it cancelled the stream.
    /// </summary>
    StreamCloseToServer = 15,

    /// <summary>
    /// The server closes its side of a stream: with <see cref="FrameFlags.Eof"/> the handler ended normally (the
    /// sequence number holds how many messages it sent), with <see cref="FrameFlags.Error"/> it failed (payload is the
    /// error text), with neither it cancelled the stream.
    /// </summary>
    StreamCloseToClient = 16,

    /// <summary>
    /// The sender is closing the connection on purpose (shutdown); payload may carry a reason text. With
    /// <see cref="FrameFlags.Eof"/> it is going away: it takes no new calls on this connection, calls in flight still
    /// finish, and a plain Disconnect follows.
    /// </summary>
    Disconnect = 17,

    /// <summary>Several frames in one transport message: the sequence number is their count and the payload their concatenated encodings.</summary>
    Merged = 18,

    /// <summary>
    /// A handshake proof over both nonces, both names, both instances and the protocol version: first the dialer's,
    /// answering the challenge in <see cref="ConnectResponse"/>, then the acceptor's, after which both sides are open.
    /// With <see cref="FrameFlags.Error"/> from the dialer: it refuses the acceptor (payload is the code).
    /// </summary>
    ConnectProof = 19,
}
