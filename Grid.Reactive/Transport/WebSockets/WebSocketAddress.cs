namespace Grid.Reactive.Transport;

/// <summary>
/// A node address for the WebSocket transport: <c>host:port</c> (as managers list each other), or <c>ws://host:port</c>.
/// </summary>
/// <param name="Host">Host name or IP address; an IPv6 address keeps its brackets.</param>
/// <param name="Port">TCP port.</param>
internal readonly record struct WebSocketAddress(string Host, int Port)
{
    /// <summary>The URL Kestrel binds for this address.</summary>
    public string HttpUrl => $"http://{Host}:{Port}";

    /// <summary>Parses <paramref name="address"/>, or throws <see cref="ArgumentException"/> saying what is expected.</summary>
    public static WebSocketAddress Parse(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "ws://" + address;
        var authority = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
        var hasPort = authority.LastIndexOf(':') > authority.LastIndexOf(']');
        if (!hasPort
            || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || uri.Scheme != "ws"
            || uri.PathAndQuery != "/"
            || uri.UserInfo.Length > 0
            || uri.Fragment.Length > 0)
        {
            throw new ArgumentException($"'{address}' is not a grid WebSocket address: expected host:port or ws://host:port.", nameof(address));
        }

        return new WebSocketAddress(uri.Host, uri.Port);
    }

    /// <summary>The URI a dialer connects to: this address at <paramref name="path"/>.</summary>
    public Uri WebSocketUri(string path) => new($"ws://{Host}:{Port}{path}");

    public override string ToString() => $"{Host}:{Port}";
}
