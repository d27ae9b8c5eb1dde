using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Threading.Channels;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.WsRaw;

/// <summary>
/// The ceiling's client: one <see cref="ClientWebSocket"/> to a <see cref="WsRawServer"/> echo. Pipelined requests are
/// batched as the grid batches frames: a single writer takes every request queued meanwhile (up to 64 KiB) and sends
/// them as one message <c>[count:u32][lane:u32 length:u32 bytes]*</c>; the server echoes it whole; the reader hands
/// each answer to its lane. At concurrency 1 this is a plain ping-pong of one message each way.
/// </summary>
public sealed class WsRawEchoClient : IEchoClient, IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly Completion[] _lanes;
    private readonly Channel<int> _queue = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _writer = Task.CompletedTask;
    private Task _reader = Task.CompletedTask;
    private long _messages;
    private long _requests;

    private WsRawEchoClient(ClientWebSocket socket, int lanes, int payloadCapacity)
    {
        _socket = socket;
        _lanes = new Completion[lanes];
        for (var i = 0; i < lanes; i++)
        {
            _lanes[i] = new Completion(payloadCapacity);
        }
    }

    /// <summary>Connects to the echo endpoint of <paramref name="server"/>, ready for <paramref name="lanes"/> lanes.</summary>
    public static async Task<WsRawEchoClient> ConnectAsync(WsRawServer server, int lanes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        var socket = new ClientWebSocket();
        try
        {
            BenchTls.Configure(socket.Options, server.Tls);
            await socket.ConnectAsync(server.Uri("/echo"), cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var client = new WsRawEchoClient(socket, lanes, 1024);
        client._writer = Task.Run(client.WriteLoopAsync, CancellationToken.None);
        client._reader = Task.Run(client.ReadLoopAsync, CancellationToken.None);
        return client;
    }

    /// <summary>
    /// The messages this client has sent and the requests they carried, doubled: the server echoes each message once,
    /// so every message is a send each way.
    /// </summary>
    public SendCount Sends => new(2 * Volatile.Read(ref _messages), 2 * Volatile.Read(ref _requests));

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> EchoAsync(int lane, byte[] payload)
    {
        var completion = _lanes[lane];
        var answer = completion.Begin(payload);
        if (!_queue.Writer.TryWrite(lane))
        {
            completion.Fail(new WebSocketException("The client is closed."));
        }

        return answer;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        _socket.Abort();
        await Task.WhenAll(_writer, _reader).ContinueWith(static _ => { }, TaskScheduler.Default);
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var buffer = new byte[WsRawServer.MaxBatchBytes + 4096];
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                var length = 4;
                var count = 0;
                while (length < WsRawServer.MaxBatchBytes && reader.TryRead(out var lane))
                {
                    var request = _lanes[lane].Request!;
                    if (length + 8 + request.Length > buffer.Length)
                    {
                        Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + 8 + request.Length));
                    }

                    BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(length), lane);
                    BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(length + 4), request.Length);
                    request.CopyTo(buffer, length + 8);
                    length += 8 + request.Length;
                    count++;
                }

                BinaryPrimitives.WriteInt32LittleEndian(buffer, count);
                Volatile.Write(ref _messages, _messages + 1);
                Volatile.Write(ref _requests, _requests + count);
                await _socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Binary, endOfMessage: true, _stop.Token);
            }
        }
        catch (Exception ex)
        {
            FailAll(ex);
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[WsRawServer.MaxBatchBytes + 4096];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    throw new WebSocketException("The server closed the connection.");
                }

                Dispatch(buffer.AsSpan(0, length));
            }
        }
        catch (Exception ex)
        {
            FailAll(ex);
        }
    }

    private void Dispatch(ReadOnlySpan<byte> batch)
    {
        var count = BinaryPrimitives.ReadInt32LittleEndian(batch);
        var position = 4;
        for (var i = 0; i < count; i++)
        {
            var lane = BinaryPrimitives.ReadInt32LittleEndian(batch[position..]);
            var length = BinaryPrimitives.ReadInt32LittleEndian(batch[(position + 4)..]);
            _lanes[lane].Complete(batch.Slice(position + 8, length));
            position += 8 + length;
        }
    }

    private void FailAll(Exception error)
    {
        _queue.Writer.TryComplete();
        var failure = error as WebSocketException ?? new WebSocketException("The raw WebSocket client failed.", error);
        foreach (var lane in _lanes)
        {
            lane.Fail(failure);
        }
    }
}
