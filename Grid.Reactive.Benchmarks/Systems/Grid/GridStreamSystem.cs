using System.Buffers.Binary;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Scenarios;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.GridSystem;

/// <summary>
/// Grid.Reactive streams between two managers over the WebSocket transport. Server to client: a credit-aware
/// handler (<see cref="Manager.RegisterStream(HandlerId, Func{ServerStream, CancellationToken, Task}, StreamHandlerOptions?, string?)"/>)
/// awaits <see cref="ServerStream.SendAsync"/> for every message, with the caller's window (OutCapacity) of 64; the
/// caller observes <see cref="Connection.NewStream"/>. Two-way: the handler echoes what it reads; the caller sends
/// with <see cref="ClientStream.SendAsync"/>, at most 64 unanswered (as for the other systems). The API does not copy
/// messages, so every message sent is a new array. With TLS: the transport of <see cref="GridEchoSystem.NewTransport"/>.
/// </summary>
/// <param name="tls">The certificates of a TLS run, or null.</param>
public sealed class GridStreamSystem(BenchTls? tls = null) : IStreamSystem
{
    /// <summary>The server-to-client stream handler.</summary>
    public static readonly HandlerId Produce = new(2);

    /// <summary>The two-way echo stream handler.</summary>
    public static readonly HandlerId EchoStream = new(3);

    /// <inheritdoc />
    public string Name => "grid";

    /// <inheritdoc />
    public string? NotAvailable => null;

    /// <inheritdoc />
    public async Task<IStreamTarget> StartAsync(CancellationToken cancellationToken)
    {
        var counters = new StreamCounters();
        string[] addresses = [$"127.0.0.1:{Ports.Free()}", $"127.0.0.1:{Ports.Free()}"];

        // The client dials the server (the producer), as a gRPC or SignalR client does: which side dials follows from
        // the two addresses, and left to the free ports it would change from run to run.
        if (!Connections.DialDirection.ShouldDial(addresses[0], addresses[1]))
        {
            (addresses[0], addresses[1]) = (addresses[1], addresses[0]);
        }
        var transport = GridEchoSystem.NewTransport(tls);
        var client = GridEchoSystem.NewNode(addresses[0], addresses, transport);
        var server = GridEchoSystem.NewNode(addresses[1], addresses, transport);
        RegisterHandlers(server, counters);
        try
        {
            await server.StartAsync(cancellationToken);
            await client.StartAsync(cancellationToken);
            await GridEchoSystem.AllConnectedAsync(client, TimeSpan.FromSeconds(30));
            return new Target(client, server, client.Connection(addresses[1]), counters);
        }
        catch
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
            throw;
        }
    }

    private static void RegisterHandlers(Manager server, StreamCounters counters)
    {
        server.RegisterStream(Produce, async (stream, cancellationToken) =>
        {
            var size = BinaryPrimitives.ReadInt32LittleEndian(stream.Payload);
            var template = Payloads.Create(size, 0);
            for (long sequence = 0; !cancellationToken.IsCancellationRequested; sequence++)
            {
                var message = GC.AllocateUninitializedArray<byte>(size);
                template.CopyTo(message, 0);
                Payloads.Stamp(message, sequence);
                await stream.SendAsync(message, cancellationToken);
                counters.Add(1);
            }
        }, new StreamHandlerOptions { InCapacity = 0, OutCapacity = StreamScenario.Window });

        server.RegisterStream(EchoStream, async (stream, cancellationToken) =>
        {
            await foreach (var message in stream.ReadAllAsync(cancellationToken))
            {
                await stream.SendAsync(message, cancellationToken);
                counters.Add(1);
            }
        }, new StreamHandlerOptions { InCapacity = StreamScenario.Window, OutCapacity = StreamScenario.Window });
    }

    private sealed class Target(Manager client, Manager server, Connection connection, StreamCounters counters) : IStreamTarget
    {
        public long Produced => counters.Produced;

        public async Task ReceiveAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            var request = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(request, size);
            var observer = new SinkObserver(sink, onMessage: null);
            using (stop.Register(observer.Stop))
            using (connection.NewStream(Produce, request).Subscribe(observer))
            {
                await observer.Ended;
            }
        }

        public async Task BidiEchoAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            // Not disposed: a late echo may still release it while the stream is being cancelled.
            var credit = new SemaphoreSlim(window, window);
            var stream = connection.NewStream(EchoStream);
            var observer = new SinkObserver(sink, onMessage: () => credit.Release());
            Task sender;
            using (stop.Register(observer.Stop))
            using (stream.Subscribe(observer))
            {
                sender = Task.Run(async () =>
                {
                    var template = Payloads.Create(size, 0);
                    for (long sequence = 0; !stop.IsCancellationRequested; sequence++)
                    {
                        await credit.WaitAsync(stop);
                        var message = GC.AllocateUninitializedArray<byte>(size);
                        template.CopyTo(message, 0);
                        Payloads.Stamp(message, sequence);
                        await stream.SendAsync(message, stop);
                    }
                }, CancellationToken.None);
                await Task.WhenAny(observer.Ended, sender);
                if (sender.IsFaulted && !stop.IsCancellationRequested)
                {
                    await sender;
                }

                await observer.Ended;
            }

            try
            {
                await sender;
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or GridException)
            {
                // Stopped by the run: sends racing the cancel fail with ObjectDisposedException ("cancelled by its subscriber").
            }
        }

        public async ValueTask DisposeAsync()
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
        }
    }

    /// <summary>Hands each message to the sink (blocking while a paced sink waits: the grid's backpressure is OnNext's return).</summary>
    private sealed class SinkObserver(StreamSink sink, Action? onMessage) : IObserver<byte[]>
    {
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the run stops it; fails when the stream ends or fails first.</summary>
        public Task Ended => _ended.Task;

        public void Stop() => _ended.TrySetResult();

        public void OnNext(byte[] value)
        {
            var pending = sink.OnMessageAsync(value);
            if (!pending.IsCompletedSuccessfully)
            {
                pending.AsTask().GetAwaiter().GetResult();
            }

            onMessage?.Invoke();
        }

        public void OnError(Exception error) => _ended.TrySetException(error);

        public void OnCompleted() => _ended.TrySetException(new InvalidOperationException("the stream ended before the run did"));
    }
}
