using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>
/// The real transport: each manager accepts grid links on Kestrel at its own address and <see cref="WebSocketTransportOptions.Path"/>,
/// and dials with <see cref="System.Net.WebSockets.ClientWebSocket"/>. Queued frames are written as merged messages.
/// </summary>
public sealed class WebSocketTransport : GridTransport
{
    /// <summary>Creates the transport.</summary>
    /// <param name="options">Transport options; defaults when null.</param>
    public WebSocketTransport(WebSocketTransportOptions? options = null) => throw new NotImplementedException();

    internal override ValueTask<IAsyncDisposable> ListenAsync(string localAddress, LinkSettings settings, Action<ILink> onAccepted, CancellationToken cancellationToken) => throw new NotImplementedException();

    internal override ValueTask<ILink> DialAsync(string localAddress, string remoteAddress, LinkSettings settings, CancellationToken cancellationToken) => throw new NotImplementedException();
}

/// <summary>Options of <see cref="WebSocketTransport"/>.</summary>
public sealed class WebSocketTransportOptions
{
    /// <summary>The HTTP path grid links use on every node. Default <c>/grid/v1</c>.</summary>
    public string Path { get; init; } = "/grid/v1";
}
