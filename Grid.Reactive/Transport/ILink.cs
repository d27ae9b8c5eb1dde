using Grid.Reactive.Protocol;

namespace Grid.Reactive.Transport;

/// <summary>
/// One ordered, reliable, message-oriented pipe between two nodes: a WebSocket, or an in-memory pair.
/// A link knows nothing of frames: it moves whole transport messages and reports its end.
/// </summary>
/// <remarks>
/// The protocol core (an <see cref="ILinkHandler"/>) drives a link: it starts it, asks for a flush when it has
/// frames queued, and closes it. The link calls back from its own contexts: one reader context delivering
/// messages in order, one writer context at a time pulling messages to send.
/// </remarks>
internal interface ILink
{
    /// <summary>A short description for logs, such as "ws 127.0.0.1:5001 -> 127.0.0.1:5002".</summary>
    string Description { get; }

    /// <summary>
    /// Starts delivering received messages to <paramref name="handler"/>. Called exactly once.
    /// Messages received before this call are kept and delivered after it, in order.
    /// </summary>
    void Start(ILinkHandler handler);

    /// <summary>
    /// The handler has frames queued. The link arranges for <see cref="ILinkHandler.TryWriteMessage"/> to be called
    /// from its writer context (never two at once) until it returns false, sending each message written.
    /// Cheap and non-blocking; never calls the handler inline.
    /// </summary>
    void RequestFlush();

    /// <summary>
    /// Closes the link. Idempotent. After it, no more messages are delivered, and <see cref="ILinkHandler.OnClosed"/>
    /// is called once (with <paramref name="reason"/>, or with the transport's own error if it failed first).
    /// </summary>
    void Close(Exception? reason);

    /// <summary>
    /// Completes once the link, closed, is over: an orderly close has written everything queued, then its close, and
    /// heard the peer's close (so nothing written is lost to a reset); an error close has given up. Never faults.
    /// </summary>
    Task Ended => Task.CompletedTask;

    /// <summary>
    /// The peer passed the handshake: the link now accepts messages up to its full size limit. Until then it accepts
    /// at most <see cref="LinkSettings.UnauthenticatedMaxMessageSize"/>, so an unauthenticated peer costs little memory.
    /// </summary>
    void Admit()
    {
    }

    /// <summary>
    /// The TLS channel binding as this side saw the channel (the SHA-256 hash of the acceptor's server certificate,
    /// see <see cref="HandshakeClaims.ChannelBinding"/>); empty for a link without TLS or with binding off.
    /// </summary>
    ReadOnlyMemory<byte> ChannelBinding => ReadOnlyMemory<byte>.Empty;

    /// <summary>
    /// On an accepted link whose transport checks peer identity: the names (DNS names and IP addresses of its subject
    /// alternative names) the dialer's TLS client certificate vouches for, empty when it showed none; the handshake
    /// then requires the host of the address the dialer claims to be among them. Null: identities are not checked.
    /// </summary>
    IReadOnlyList<string>? PeerCertificateNames => null;
}

/// <summary>The protocol side of a link: what a link delivers to and pulls from.</summary>
internal interface ILinkHandler
{
    /// <summary>
    /// One whole transport message arrived. Called from the link's reader context, one at a time, in order.
    /// <paramref name="message"/> is only valid during the call. Must not block.
    /// </summary>
    void OnMessage(ReadOnlyMemory<byte> message);

    /// <summary>
    /// Writes the next transport message (one frame, or several merged) into the cleared <paramref name="output"/>
    /// and returns true, or returns false when nothing is queued. Called from the link's writer context.
    /// </summary>
    bool TryWriteMessage(PooledBufferWriter output);

    /// <summary>The link ended, from either side. Called once. <paramref name="error"/> is null for an orderly close.</summary>
    void OnClosed(Exception? error);
}

/// <summary>Settings a manager hands its transport for every link.</summary>
/// <param name="MaxMessageSize">Largest transport message accepted, in bytes; a larger one closes the link with a <see cref="ProtocolException"/>.</param>
internal sealed record LinkSettings(int MaxMessageSize)
{
    /// <summary>The grid's logger, for what the transport itself must report (a refused TLS handshake); null for none.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }

    /// <summary>
    /// Largest message accepted before the handshake has succeeded: a handshake fits (two addresses and a token of at
    /// most 1 KiB each), a 15 MiB "message" from a stranger does not.
    /// </summary>
    public const int UnauthenticatedMaxMessageSize = 8 * 1024;
}
