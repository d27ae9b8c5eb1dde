using Grid.Reactive.Benchmarks.Harness;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Grid.Reactive.Benchmarks.Grpc;

/// <summary>
/// Starts a gRPC server (Grpc.AspNetCore on Kestrel, h2c on loopback, default settings; HTTPS with ALPN h2 in a TLS
/// run) and opens channels to it.
/// </summary>
public static class GrpcServer
{
    /// <summary>Starts the <see cref="GrpcBenchService"/> on 127.0.0.1:<paramref name="port"/>.</summary>
    public static Task<WebApplication> StartAsync(int port, StreamCounters counters, BenchTls? tls, CancellationToken cancellationToken) =>
        KestrelHost.StartAsync(port, HttpProtocols.Http2,
            services =>
            {
                services.AddSingleton(counters);
                services.AddGrpc();
            },
            app => app.MapGrpcService<GrpcBenchService>(),
            cancellationToken,
            tls);

    /// <summary>
    /// A channel to the server on 127.0.0.1:<paramref name="port"/>, all defaults. With TLS: https, and the handler
    /// gRPC would make itself (a <see cref="SocketsHttpHandler"/> with <c>EnableMultipleHttp2Connections</c>) with the
    /// server's certificate checked against the run's CA.
    /// </summary>
    public static GrpcChannel OpenChannel(int port, BenchTls? tls)
    {
        if (tls is null)
        {
            return GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        }

        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        handler.SslOptions.RemoteCertificateValidationCallback = tls.Validate;
        return GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }
}
