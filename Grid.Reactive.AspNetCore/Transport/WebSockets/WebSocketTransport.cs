using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>
/// The real transport: each manager accepts grid links on Kestrel at its own address and <see cref="WebSocketTransportOptions.Path"/>,
/// and dials with <see cref="System.Net.WebSockets.ClientWebSocket"/>. Queued frames are written as merged messages.
/// </summary>
/// <remarks>
/// Addresses are <c>host:port</c> (or <c>ws://host:port</c>). Listening binds <c>http://host:port</c>; dialing connects
/// to <c>ws://host:port</c> plus the path, directly (no HTTP proxy) and without WebSocket keep-alive pings, since the
/// grid pings on its own. Each transport message is one binary WebSocket message.
/// </remarks>
public sealed class WebSocketTransport : GridTransport
{
    private readonly WebSocketTransportOptions _options;

    /// <summary>Creates the transport.</summary>
    /// <param name="options">Transport options; defaults when null.</param>
    public WebSocketTransport(WebSocketTransportOptions? options = null)
    {
        _options = options ?? new WebSocketTransportOptions();
        if (string.IsNullOrEmpty(_options.Path) || _options.Path[0] != '/')
        {
            throw new ArgumentException($"The path '{_options.Path}' must start with '/'.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ReceiveBufferSize, 256, nameof(options));
        if (_options.MaxConnections < 1)
        {
            throw new ArgumentException($"WebSocketTransportOptions.MaxConnections ({_options.MaxConnections}) must be at least 1.", nameof(options));
        }

        if (_options.UpgradeTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"WebSocketTransportOptions.UpgradeTimeout ({_options.UpgradeTimeout}) must be at least 1 second.", nameof(options));
        }
        if (_options.Tls is { RequirePeerIdentity: true, RequireClientCertificate: false })
        {
            throw new ArgumentException("GridTlsOptions.RequirePeerIdentity needs RequireClientCertificate: identities come from client certificates.", nameof(options));
        }

        if (_options.Tls is { ServerCertificate: null, ServerCertificateSelector: null } && _options.SelfHost)
        {
            throw new ArgumentException("WebSocketTransportOptions.Tls needs a ServerCertificate (or a ServerCertificateSelector) for a self-hosted listener.", nameof(options));
        }
    }

    private WebSocketListener? _hosted;

    internal override async ValueTask<IAsyncDisposable> ListenAsync(string localAddress, LinkSettings settings, Action<ILink> onAccepted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(onAccepted);
        var address = WebSocketAddress.Parse(localAddress, _options.Tls is not null);
        if (_options.SelfHost)
        {
            return await WebSocketListener.StartAsync(address, _options, settings, onAccepted, cancellationToken).ConfigureAwait(false);
        }

        WebSocketListener? hosted = null;
        hosted = WebSocketListener.Hosted(address, _options, settings, onAccepted, () => Interlocked.CompareExchange(ref _hosted, null, hosted));
        if (Interlocked.CompareExchange(ref _hosted, hosted, null) is not null)
        {
            throw new InvalidOperationException("A transport with SelfHost = false serves one manager; give each manager its own transport.");
        }

        return hosted;
    }

    /// <summary>The path grid links use (see <see cref="WebSocketTransportOptions.Path"/>).</summary>
    public string Path => _options.Path;

    /// <summary>
    /// Accepts a grid link on an ASP.NET Core request, for a transport with <see cref="WebSocketTransportOptions.SelfHost"/>
    /// false (normally through <see cref="GridEndpoints.MapGrid"/>). Completes when the link ends. Answers 400 to a
    /// request that is not a WebSocket upgrade, and 503 while no started manager uses this transport.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns>Completes when the link ends.</returns>
    public Task AcceptAsync(Microsoft.AspNetCore.Http.HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Volatile.Read(ref _hosted) is { } listener)
        {
            return listener.HandleAsync(context);
        }

        context.Response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status503ServiceUnavailable;
        return Task.CompletedTask;
    }

    internal override async ValueTask<ILink> DialAsync(string localAddress, string remoteAddress, LinkSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var target = WebSocketAddress.Parse(remoteAddress, _options.Tls is not null);
        var uri = target.WebSocketUri(_options.Path);
        var socket = new ClientWebSocket();
        var binding = ReadOnlyMemory<byte>.Empty;
        try
        {
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            socket.Options.Proxy = null;
            if (_options.Tls is { } tls)
            {
                if ((tls.ClientCertificateSelector?.Invoke() ?? tls.ClientCertificate) is { } mine)
                {
                    socket.Options.ClientCertificates.Add(mine);
                }

                socket.Options.RemoteCertificateValidationCallback = tls.ValidateServerCertificate
                    ?? ((_, certificate, _, errors) => certificate is X509Certificate2 server && tls.Accepts(server, errors, checkName: true));
            }

            _options.ConfigureDialer?.Invoke(socket.Options);
            if (_options.Tls is { ChannelBinding: true } && socket.Options.RemoteCertificateValidationCallback is { } validate)
            {
                // Whatever validation runs (ours or the application's), the certificate it accepted is the channel's binding.
                socket.Options.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                {
                    var accepted = validate(sender, certificate, chain, errors);
                    if (accepted && certificate is not null)
                    {
                        binding = GridTlsOptions.BindingOf(certificate);
                    }

                    return accepted;
                };
            }

            Task connecting;
            using (Diagnostics.GridTracing.SuppressForDial())
            {
                connecting = socket.ConnectAsync(uri, cancellationToken);
            }

            await connecting.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            socket.Dispose();
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            var message = $"Cannot dial {remoteAddress} ({uri}): {ex.Message}"
                + (ex.InnerException is { } inner ? $" ({inner.Message})" : string.Empty);
            if (ex is WebSocketException webSocketError)
            {
                throw new WebSocketException(webSocketError.WebSocketErrorCode, message, ex);
            }

            if (ex is IOException or SocketException or HttpRequestException)
            {
                throw new IOException(message, ex);
            }

            throw;
        }

        return new WebSocketLink(socket, settings.MaxMessageSize, _options.ReceiveBufferSize, $"{(target.Secure ? "wss" : "ws")} {localAddress} -> {remoteAddress}", admitted: true,
            binding);
    }
}
