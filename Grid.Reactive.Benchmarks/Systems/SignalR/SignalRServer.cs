using Grid.Reactive.Benchmarks.Harness;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Grid.Reactive.Benchmarks.SignalRSystem;

/// <summary>
/// Starts a SignalR server: <see cref="BenchHub"/> on Kestrel (HTTP/1.1, WebSockets on loopback), the MessagePack hub
/// protocol, every other hub and transport option at its default; HTTPS in a TLS run.
/// </summary>
public static class SignalRServer
{
    /// <summary>Starts the hub on 127.0.0.1:<paramref name="port"/>.</summary>
    public static Task<WebApplication> StartAsync(int port, StreamCounters counters, BenchTls? tls, CancellationToken cancellationToken) =>
        KestrelHost.StartAsync(port, HttpProtocols.Http1,
            services =>
            {
                services.AddSingleton(counters);
                services.AddSignalR().AddMessagePackProtocol();
            },
            app => app.MapHub<BenchHub>(BenchHub.Path),
            cancellationToken,
            tls);
}
