using Google.Protobuf;
using Grid.Reactive.Benchmarks.Harness;
using Grpc.Core;

namespace Grid.Reactive.Benchmarks.Grpc;

/// <summary>The gRPC server: echo, a server-to-client stream as fast as flow control allows, and a two-way echo stream.</summary>
public sealed class GrpcBenchService(StreamCounters counters) : Bench.BenchBase
{
    /// <inheritdoc />
    public override Task<Chunk> Echo(Chunk request, ServerCallContext context) => Task.FromResult(request);

    /// <inheritdoc />
    public override async Task Produce(StreamRequest request, IServerStreamWriter<Chunk> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);

        // One buffer, restamped per message: WriteAsync has serialized the message by the time it completes.
        var buffer = Payloads.Create(request.Size, 0);
        var message = new Chunk { Data = UnsafeByteOperations.UnsafeWrap(buffer) };
        var token = context.CancellationToken;
        try
        {
            for (long sequence = 0; !token.IsCancellationRequested; sequence++)
            {
                Payloads.Stamp(buffer, sequence);
                await responseStream.WriteAsync(message, token);
                counters.Add(1);
            }
        }
        catch (Exception ex) when (token.IsCancellationRequested && ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client cancelled the stream: the normal end.
        }
    }

    /// <inheritdoc />
    public override async Task EchoStream(IAsyncStreamReader<Chunk> requestStream, IServerStreamWriter<Chunk> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var token = context.CancellationToken;
        try
        {
            while (await requestStream.MoveNext(token))
            {
                await responseStream.WriteAsync(requestStream.Current, token);
                counters.Add(1);
            }
        }
        catch (Exception ex) when (token.IsCancellationRequested && ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client cancelled the stream: the normal end.
        }
    }
}
