using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Transport;

/// <summary>
/// A Kestrel server accepting grid links at one address and path. Each accepted WebSocket becomes a
/// <see cref="WebSocketLink"/> handed to the callback; its request stays open until the link is over.
/// </summary>
internal sealed class WebSocketListener : IAsyncDisposable
{
    private readonly WebApplication? _app;
    private readonly Action? _onDisposed;
    private readonly string _address;
    private readonly PathString _path;
    private readonly int _maxMessageSize;
    private readonly int _receiveBufferSize;
    private readonly Action<ILink> _onAccepted;
    private readonly GridTlsOptions? _tls;
    private readonly Lock _gate = new();
    private readonly HashSet<WebSocketLink> _links = [];
    private bool _stopping;

    private WebSocketListener(WebApplication? app, WebSocketAddress address, WebSocketTransportOptions options,
        LinkSettings settings, Action<ILink> onAccepted, Action? onDisposed = null)
    {
        _app = app;
        _onDisposed = onDisposed;
        _address = address.ToString();
        _path = new PathString(options.Path);
        _maxMessageSize = settings.MaxMessageSize;
        _receiveBufferSize = options.ReceiveBufferSize;
        _onAccepted = onAccepted;
        _tls = options.Tls;
    }

    /// <summary>
    /// True when this listener's own Kestrel runs socket reads and writes inline on their completions (see
    /// <see cref="StartAsync"/>); false for a hosted listener, whose server is the application's.
    /// </summary>
    internal bool SchedulesInline =>
        _app?.Services.GetService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>>()?.Value
            .UnsafePreferInlineScheduling ?? false;

    /// <summary>For a hosted grid, whose TLS is the application's: the request's client certificate must pass the grid's check.</summary>
    private static async Task<bool> HasValidClientCertificateAsync(HttpContext context, GridTlsOptions tls)
    {
        var certificate = context.Connection.ClientCertificate ?? await context.Connection.GetClientCertificateAsync().ConfigureAwait(false);
        if (certificate is null)
        {
            return false;
        }

        if (tls.ValidateClientCertificate is { } validate)
        {
            return validate(certificate, null, System.Net.Security.SslPolicyErrors.None);
        }

        return tls.TrustedRoots.Count == 0 || tls.Accepts(certificate, System.Net.Security.SslPolicyErrors.None, checkName: false);
    }

    /// <summary>
    /// A listener without a server of its own: the application's ASP.NET Core pipeline hands it requests
    /// (<see cref="GridEndpoints.MapGrid"/>). Disposing it closes its links and calls <paramref name="onDisposed"/>.
    /// </summary>
    public static WebSocketListener Hosted(WebSocketAddress address, WebSocketTransportOptions options, LinkSettings settings,
        Action<ILink> onAccepted, Action onDisposed) =>
        new(null, address, options, settings, onAccepted, onDisposed);

    /// <summary>Starts Kestrel on <paramref name="address"/>; throws (an <see cref="IOException"/> when the port is taken) if it cannot.</summary>
    public static async ValueTask<WebSocketListener> StartAsync(WebSocketAddress address, WebSocketTransportOptions options,
        LinkSettings settings, Action<ILink> onAccepted, CancellationToken cancellationToken)
    {
        // The empty builder reads no configuration files or environment variables and registers no logging provider:
        // only what is added here runs.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        var refusals = options.Tls is not null && settings.Logger is { } gridLogger ? new TlsRefusalLog(gridLogger, address.ToString()) : null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Bounds on what an unauthenticated socket can hold: open files (past the limit the whole process fails,
            // not just this listener) and the time before its upgrade request.
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = options.MaxConnections;
            kestrel.Limits.RequestHeadersTimeout = options.UpgradeTimeout;
            kestrel.Limits.KeepAliveTimeout = options.UpgradeTimeout;
            kestrel.ConfigureEndpointDefaults(endpoint =>
            {
                endpoint.Protocols = HttpProtocols.Http1;
                if (refusals is not null)
                {
                    endpoint.Use(refusals.Middleware); // outside Kestrel's HTTPS middleware: sees every TLS connection end
                }
            });
            if (options.Tls is { } tls)
            {
                kestrel.ConfigureHttpsDefaults(https =>
                {
                    if (tls.ServerCertificateSelector is { } select)
                    {
                        https.ServerCertificateSelector = (_, _) => select();
                    }
                    else
                    {
                        https.ServerCertificate = tls.ServerCertificate;
                    }

                    https.ClientCertificateMode = tls.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate;
                    https.ClientCertificateValidation = tls.ValidateClientCertificate
                        ?? ((certificate, _, errors) => tls.Accepts(certificate, errors, checkName: false));
                });
            }
        });
        if (options.Tls is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
            if (refusals is not null)
            {
                // Kestrel reports a failed TLS handshake only to its own debug log: the grid's log gets one warning.
                builder.Logging.AddProvider(refusals).AddFilter<TlsRefusalLog>(TlsRefusalLog.HttpsCategory, LogLevel.Debug);
            }
        }

        // Reads and writes continue inline on the socket's completion instead of first hopping to one of Kestrel's I/O
        // queues (a thread-pool work item per message each way; with several nodes in one process, one set of queues
        // per server). Safe here: what runs on them is the link's reader and writer, which never block and never run
        // user code (that always hops off the link).
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.UseUrls(address.HttpUrl);
        builder.Services.AddWebSockets(webSockets => webSockets.KeepAliveInterval = TimeSpan.Zero);

        var app = builder.Build();
        var listener = new WebSocketListener(app, address, options, settings, onAccepted);
        app.UseWebSockets();
        app.Run(listener.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return listener;
    }

    /// <summary>How long stopping waits for links closing in order to write their last messages (wall-clock: socket I/O).</summary>
    internal static readonly TimeSpan OrderlyCloseBound = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Stops Kestrel. Links still open (or still finishing an orderly close) are closed with a
    /// <see cref="DisconnectedException"/> and their sockets aborted first, so that stopping never waits for a peer.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        WebSocketLink[] open;
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            open = [.. _links];
        }

        // Links closing in order (a node shutting down) get a bounded moment to write their goodbye and what was
        // queued before it; then every socket is aborted, so stopping never waits on a peer for long.
        try
        {
            await Task.WhenAll(open.Select(l => l.Completion)).WaitAsync(OrderlyCloseBound).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        foreach (var link in open)
        {
            link.Abort(new DisconnectedException($"The listener at {_address} stopped."));
        }

        _onDisposed?.Invoke();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// This side's channel binding for a request: the hash of the server certificate Kestrel presented on it, else the
    /// configured one; empty without TLS, with binding off, or when neither is known.
    /// </summary>
    private ReadOnlyMemory<byte> ChannelBinding(HttpContext context)
    {
        if (_tls is not { ChannelBinding: true } tls || !context.Request.IsHttps)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var presented = context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ISslStreamFeature>()?.SslStream.LocalCertificate
            ?? tls.ServerCertificate;
        return presented is null ? ReadOnlyMemory<byte>.Empty : GridTlsOptions.BindingOf(presented);
    }

    /// <summary>The DNS names and IP addresses a client certificate's subject alternative names hold; empty for none.</summary>
    private static string[] CertificateNames(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate?.Extensions ?? [])
        {
            if (extension is System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension alternatives)
            {
                names.AddRange(alternatives.EnumerateDnsNames());
                names.AddRange(alternatives.EnumerateIPAddresses().Select(ip => ip.ToString()));
            }
        }

        return [.. names];
    }

    /// <summary>Accepts one grid link on <paramref name="context"/> and holds the request until the link ends.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        TlsRefusalLog.MarkRequest(context);
        // The application's routing matched a hosted listener's path already (under any path base).
        if (_app is not null && !context.Request.Path.Equals(_path))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        // The request lasts as long as the link: it is no span of anyone's trace, nor the parent of the link's calls.
        Diagnostics.GridTracing.DetachLinkRequest(context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity);

        if (_tls is { RequireClientCertificate: true } tls && !await HasValidClientCertificateAsync(context, tls).ConfigureAwait(false))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero })
            .ConfigureAwait(false);
        var remote = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
        var link = new WebSocketLink(socket, _maxMessageSize, _receiveBufferSize, $"{(_tls is null ? "ws" : "wss")} {_address} <- {remote}", admitted: false,
            ChannelBinding(context), _tls is { RequirePeerIdentity: true } ? CertificateNames(context.Connection.ClientCertificate) : null);
        bool stopping;
        lock (_gate)
        {
            stopping = _stopping;
            if (!stopping)
            {
                _links.Add(link);
            }
        }

        try
        {
            if (stopping)
            {
                link.Close(new DisconnectedException($"The listener at {_address} stopped."));
            }
            else
            {
                try
                {
                    _onAccepted(link);
                }
#pragma warning disable CA1031 // The acceptor failing is this link's end, not the server's.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    link.Close(ex);
                }
            }

            await link.Completion.ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _links.Remove(link);
            }
        }
    }
}
