using Grid.Reactive.Benchmarks.Harness;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Grid.Reactive.Benchmarks.Grpc;

/// <summary>Starts a gRPC server (Grpc.AspNetCore on Kestrel, h2c on loopback, default settings).</summary>
public static class GrpcServer
{
    /// <summary>Starts the <see cref="GrpcBenchService"/> on 127.0.0.1:<paramref name="port"/>.</summary>
    public static Task<WebApplication> StartAsync(int port, StreamCounters counters, CancellationToken cancellationToken) =>
        KestrelHost.StartAsync(port, HttpProtocols.Http2,
            services =>
            {
                services.AddSingleton(counters);
                services.AddGrpc();
            },
            app => app.MapGrpcService<GrpcBenchService>(),
            cancellationToken);
}
