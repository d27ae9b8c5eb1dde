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
    /// Self-hosted listener: the most connections it keeps open at once, counted twice over: grid links (sockets
    /// upgraded to WebSockets, whether their grid handshake is done or not) and, separately, sockets still before their
    /// upgrade (TLS or the HTTP request). Beyond either count, a new socket is closed as soon as it is accepted, so a
    /// flood of sockets cannot use up the process's open files (which would stop the whole process). Keep twice this
    /// below the process's open-file limit (<c>ulimit -n</c>) less what the application needs; a grid of N nodes needs
    /// about N/2 links. Default 4096, or less where the process may open fewer files (on Linux, half of what its
    /// open-file limit leaves after 256 for the rest of the process, at least 16); at least 1. A hosted grid
    /// (<see cref="SelfHost"/> false) uses the application's Kestrel limits
    /// (<c>KestrelServerLimits.MaxConcurrentConnections</c> and <c>MaxConcurrentUpgradedConnections</c>).
    /// </summary>
    public int MaxConnections { get; init; } = OpenFileLimit.DefaultMaxConnections;

    /// <summary>
    /// Self-hosted listener: how long a new socket may take to send its WebSocket upgrade request (after TLS) before it
    /// is closed. A grid dialer sends it at once; a socket that sends nothing, or sends it a byte at a time, holds an open
    /// file only this long. Default 10 s; at least 1 s (Kestrel checks once a second). A hosted grid uses the
    /// application's <c>KestrelServerLimits.RequestHeadersTimeout</c> and <c>KeepAliveTimeout</c>.
    /// </summary>
    public TimeSpan UpgradeTimeout { get; init; } = TimeSpan.FromSeconds(10);

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
