using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.WsRaw;

/// <summary>
/// The ceiling for streams, over one bare WebSocket. Server to client: the server packs as many messages as the
/// client's credit allows (up to 64 KiB) into one WebSocket message; the client grants a window of credit up front and
/// half a window again each time it has consumed half a window. Two-way: the client sends batches
/// <c>[count:u32][messages]</c> within its window to the echo endpoint, which returns each batch whole.
/// </summary>
/// <param name="tls">The certificates of a TLS run (HTTPS, wss), or null.</param>
public sealed class WsRawStreamSystem(BenchTls? tls = null) : IStreamSystem
{
    /// <inheritdoc />
    public string Name => "ws-raw";

    /// <inheritdoc />
    public string? NotAvailable => null;

    /// <inheritdoc />
    public async Task<IStreamTarget> StartAsync(CancellationToken cancellationToken) =>
        new Target(await WsRawServer.StartAsync(tls, cancellationToken));

    private sealed class Target(WsRawServer server) : IStreamTarget
    {
        public long Produced => server.Counters.Produced;

        public async Task ReceiveAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            using var socket = await ConnectAsync($"/stream?size={size}", stop);
            var credit = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(credit, window);
            var buffer = new byte[WsRawServer.MaxBatchBytes + size];
            var ungranted = 0;
            try
            {
                await socket.SendAsync(credit, WebSocketMessageType.Binary, endOfMessage: true, stop);
                while (true)
                {
                    var length = await ReceiveMessageAsync(socket, buffer, stop);
                    var count = BinaryPrimitives.ReadInt32LittleEndian(buffer);
                    for (var i = 0; i < count; i++)
                    {
                        await sink.OnMessageAsync(buffer.AsMemory(4 + (i * size), Math.Min(size, length - 4 - (i * size))));
                        if (++ungranted >= window / 2)
                        {
                            BinaryPrimitives.WriteInt32LittleEndian(credit, ungranted);
                            await socket.SendAsync(credit, WebSocketMessageType.Binary, endOfMessage: true, stop);
                            ungranted = 0;
                        }
                    }
                }
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or WebSocketException)
            {
                // Stopped by the run: the normal end.
            }
        }

        public async Task BidiEchoAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            using var socket = await ConnectAsync("/echo", stop);
            var gate = new CreditGate(window);
            var sender = Task.Run(() => SendBatchesAsync(socket, size, gate, stop), CancellationToken.None);
            var buffer = new byte[WsRawServer.MaxBatchBytes + size];
            try
            {
                while (true)
                {
                    var length = await ReceiveMessageAsync(socket, buffer, stop);
                    var count = BinaryPrimitives.ReadInt32LittleEndian(buffer);
                    for (var i = 0; i < count; i++)
                    {
                        sink.OnMessage(buffer.AsSpan(4 + (i * size), Math.Min(size, length - 4 - (i * size))));
                    }

                    gate.Grant(count);
                }
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or WebSocketException)
            {
                // Stopped by the run: the normal end.
            }
            finally
            {
                gate.Close();
            }

            try
            {
                await sender;
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or WebSocketException)
            {
                // Stopped by the run: the normal end.
            }
        }

        public ValueTask DisposeAsync() => server.DisposeAsync();

        private static async Task SendBatchesAsync(ClientWebSocket socket, int size, CreditGate gate, CancellationToken stop)
        {
            var perBatch = Math.Max(1, (WsRawServer.MaxBatchBytes - 4) / size);
            var buffer = new byte[4 + (perBatch * size)];
            var template = Payloads.Create(size, 0);
            for (var i = 0; i < perBatch; i++)
            {
                template.CopyTo(buffer, 4 + (i * size));
            }

            long sequence = 0;
            while (!stop.IsCancellationRequested)
            {
                var count = (int)await gate.TakeAsync(perBatch, stop);
                BinaryPrimitives.WriteInt32LittleEndian(buffer, count);
                for (var i = 0; i < count; i++)
                {
                    Payloads.Stamp(buffer.AsSpan(4 + (i * size)), sequence++);
                }

                await socket.SendAsync(buffer.AsMemory(0, 4 + (count * size)), WebSocketMessageType.Binary, endOfMessage: true, stop);
            }
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private static async ValueTask<int> ReceiveMessageAsync(ClientWebSocket socket, byte[] buffer, CancellationToken stop)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length)
                {
                    throw new WebSocketException($"A message larger than {buffer.Length} bytes arrived.");
                }

                result = await socket.ReceiveAsync(buffer.AsMemory(length), stop);
                length += result.Count;
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

            return result.MessageType == WebSocketMessageType.Close
                ? throw new WebSocketException("The server closed the stream.")
                : length;
        }

        private async Task<ClientWebSocket> ConnectAsync(string path, CancellationToken cancellationToken)
        {
            var socket = new ClientWebSocket();
            try
            {
                BenchTls.Configure(socket.Options, server.Tls);
                await socket.ConnectAsync(server.Uri(path), cancellationToken);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }
}
