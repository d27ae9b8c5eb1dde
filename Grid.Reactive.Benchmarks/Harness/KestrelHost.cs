using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// Starts the Kestrel servers of the gRPC, SignalR and raw WebSocket systems: loopback only, no logging, defaults
/// otherwise; HTTPS with the run's node certificate in a TLS run (ALPN offers h2 for an HTTP/2 endpoint).
/// </summary>
public static class KestrelHost
{
    /// <summary>Builds and starts a server on 127.0.0.1:<paramref name="port"/>.</summary>
    /// <param name="port">The port.</param>
    /// <param name="protocols">Http2 for gRPC (h2c), Http1 for WebSockets.</param>
    /// <param name="services">Registers the server's services.</param>
    /// <param name="map">Maps its endpoints.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <param name="tls">The certificates of a TLS run (HTTPS with its node certificate), or null for plain HTTP.</param>
    public static async Task<WebApplication> StartAsync(int port, HttpProtocols protocols, Action<IServiceCollection> services,
        Action<WebApplication> map, CancellationToken cancellationToken, BenchTls? tls = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(map);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = protocols;
                if (tls is not null)
                {
                    listen.UseHttps(tls.ServerCertificate);
                }
            });
        });
        if (tls is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        services(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync(cancellationToken);
        return app;
    }

    /// <summary>Stops a server: gracefully within <paramref name="grace"/>, then by aborting its connections; then disposes it.</summary>
    public static async Task StopAsync(WebApplication app, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(app);
        using (var timeout = new CancellationTokenSource(grace))
        {
            try
            {
                await app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Connections still open after the grace period were aborted.
            }
        }

        await app.DisposeAsync();
    }
}
