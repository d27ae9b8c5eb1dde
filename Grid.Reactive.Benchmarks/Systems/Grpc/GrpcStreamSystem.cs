using Google.Protobuf;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Grid.Reactive.Benchmarks.Grpc;

/// <summary>
/// gRPC streams: a server-streaming call (the server writes as fast as HTTP/2 flow control lets it) and a duplex
/// call echoing each message. gRPC has no message window: the <c>window</c> parameter bounds only the client's
/// unanswered messages in the two-way echo; the server-to-client stream is paced by HTTP/2 flow control (default
/// windows), which is gRPC's own backpressure.
/// </summary>
/// <param name="tls">The certificates of a TLS run, or null.</param>
public sealed class GrpcStreamSystem(BenchTls? tls = null) : IStreamSystem
{
    /// <inheritdoc />
    public string Name => "grpc";

    /// <inheritdoc />
    public string? NotAvailable => null;

    /// <inheritdoc />
    public async Task<IStreamTarget> StartAsync(CancellationToken cancellationToken)
    {
        var counters = new StreamCounters();
        var port = Ports.Free();
        var server = await GrpcServer.StartAsync(port, counters, tls, cancellationToken);
        var channel = GrpcServer.OpenChannel(port, tls);
        await channel.ConnectAsync(cancellationToken);
        return new Target(server, channel, counters);
    }

    private sealed class Target(WebApplication server, GrpcChannel channel, StreamCounters counters) : IStreamTarget
    {
        private readonly Bench.BenchClient _client = new(channel);

        public long Produced => counters.Produced;

        public async Task ReceiveAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            using var call = _client.Produce(new StreamRequest { Size = size }, cancellationToken: stop);
            try
            {
                while (await call.ResponseStream.MoveNext(stop))
                {
                    await sink.OnMessageAsync(call.ResponseStream.Current.Data.Memory);
                }

                sink.Fail(new InvalidOperationException("the server ended the stream"));
            }
            catch (Exception ex) when (stop.IsCancellationRequested && IsCancellation(ex))
            {
                // Stopped by the run: the normal end.
            }
        }

        public async Task BidiEchoAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            using var call = _client.EchoStream(cancellationToken: stop);
            using var credit = new SemaphoreSlim(window, window);
            var sender = Task.Run(async () =>
            {
                // One buffer, restamped per message: WriteAsync has serialized the message by the time it completes.
                var buffer = Payloads.Create(size, 0);
                var message = new Chunk { Data = UnsafeByteOperations.UnsafeWrap(buffer) };
                for (long sequence = 0; !stop.IsCancellationRequested; sequence++)
                {
                    await credit.WaitAsync(stop);
                    Payloads.Stamp(buffer, sequence);
                    await call.RequestStream.WriteAsync(message, stop);
                }
            }, CancellationToken.None);
            try
            {
                while (await call.ResponseStream.MoveNext(stop))
                {
                    sink.OnMessage(call.ResponseStream.Current.Data.Span);
                    credit.Release();
                }
            }
            catch (Exception ex) when (stop.IsCancellationRequested && IsCancellation(ex))
            {
                // Stopped by the run: the normal end.
            }

            try
            {
                await sender;
            }
            catch (Exception ex) when (stop.IsCancellationRequested && IsCancellation(ex))
            {
                // Stopped by the run: the normal end.
            }
        }

        public async ValueTask DisposeAsync()
        {
            channel.Dispose();
            await KestrelHost.StopAsync(server, TimeSpan.FromSeconds(1));
        }

        private static bool IsCancellation(Exception ex) =>
            ex is OperationCanceledException or IOException or ObjectDisposedException
            || (ex is RpcException rpc && rpc.StatusCode is StatusCode.Cancelled or StatusCode.Unavailable);
    }
}
