namespace Grid.Reactive;

/// <summary>Options of <see cref="WebSocketTransport"/>.</summary>
public sealed class WebSocketTransportOptions
{
    /// <summary>The HTTP path grid links use on every node. Default <c>/grid/v1</c>. Must start with <c>/</c>.</summary>
    public string Path { get; init; } = "/grid/v1";

    /// <summary>
    /// Initial size, in bytes, of each link's receive buffer. A larger message doubles it as needed, up to the manager's
    /// largest message size; it shrinks back after the message. Default 16 KiB; at least 256.
    /// </summary>
    public int ReceiveBufferSize { get; init; } = 16 * 1024;

    /// <summary>
    /// True (the default): the transport runs its own Kestrel server at the manager's address. False: it runs no
    /// server; map its endpoint into your own ASP.NET Core application with
    /// <see cref="GridEndpoints.MapGrid"/> (after <c>UseWebSockets()</c>), listening at the manager's address.
    /// </summary>
    public bool SelfHost { get; init; } = true;

    /// <summary>
    /// TLS: null (the default) for plain <c>ws://</c>; set, the node listens on HTTPS, dials <c>wss://</c> and validates
    /// certificates as <see cref="GridTlsOptions"/> says. A <c>wss://</c> address needs it set; a <c>ws://</c> address
    /// is refused while it is set, so a grid is either all TLS or not at all.
    /// </summary>
    public GridTlsOptions? Tls { get; init; }

    /// <summary>
    /// Shapes the dialer's <see cref="System.Net.WebSockets.ClientWebSocketOptions"/> before each dial: request headers
    /// (a bearer token for an endpoint behind ASP.NET Core authentication), a proxy, more client certificates. Runs
    /// after the grid's own settings; null for none.
    /// </summary>
    public Action<System.Net.WebSockets.ClientWebSocketOptions>? ConfigureDialer { get; init; }
}
