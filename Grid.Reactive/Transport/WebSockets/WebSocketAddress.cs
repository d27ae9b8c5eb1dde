namespace Grid.Reactive.Transport;

/// <summary>
/// A node address for the WebSocket transport: <c>host:port</c> (as managers list each other), <c>ws://host:port</c>
/// or <c>wss://host:port</c>. A bare <c>host:port</c> takes TLS from the transport's options.
/// </summary>
/// <param name="Host">Host name or IP address; an IPv6 address keeps its brackets.</param>
/// <param name="Port">TCP port.</param>
/// <param name="Secure">True for TLS (wss / https).</param>
internal readonly record struct WebSocketAddress(string Host, int Port, bool Secure = false)
{
    /// <summary>The URL Kestrel binds for this address.</summary>
    public string HttpUrl => $"{(Secure ? "https" : "http")}://{Host}:{Port}";

    /// <summary>Parses <paramref name="address"/> for a transport with or without TLS, or throws <see cref="ArgumentException"/> saying what is expected.</summary>
    public static WebSocketAddress Parse(string address, bool tls)
    {
        var parsed = Parse(address);
        if (address.StartsWith("wss://", StringComparison.OrdinalIgnoreCase) && !tls)
        {
            throw new ArgumentException($"'{address}' is a wss:// address, but the transport has no TLS options (WebSocketTransportOptions.Tls).", nameof(address));
        }

        if (address.StartsWith("ws://", StringComparison.OrdinalIgnoreCase) && tls)
        {
            throw new ArgumentException($"'{address}' is a plain ws:// address, but the transport uses TLS: use host:port or wss://host:port.", nameof(address));
        }

        return parsed with { Secure = tls };
    }

    /// <summary>Parses <paramref name="address"/>, or throws <see cref="ArgumentException"/> saying what is expected.</summary>
    public static WebSocketAddress Parse(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "ws://" + address;
        var authority = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
        var hasPort = authority.LastIndexOf(':') > authority.LastIndexOf(']');
        if (!hasPort
            || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("ws" or "wss")
            || uri.PathAndQuery != "/"
            || uri.UserInfo.Length > 0
            || uri.Fragment.Length > 0)
        {
            throw new ArgumentException($"'{address}' is not a grid WebSocket address: expected host:port, ws://host:port or wss://host:port.", nameof(address));
        }

        return new WebSocketAddress(uri.Host, uri.Port, uri.Scheme == "wss");
    }

    /// <summary>The URI a dialer connects to: this address at <paramref name="path"/>.</summary>
    public Uri WebSocketUri(string path) => new($"{(Secure ? "wss" : "ws")}://{Host}:{Port}{path}");

    public override string ToString() => $"{Host}:{Port}";
}
