using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net.WebSockets;
using Grid.Reactive.Benchmarks.Harness;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Grid.Reactive.Benchmarks.WsRaw;

/// <summary>
/// The ceiling's server: a bare WebSocket endpoint on Kestrel (HTTP/1.1 upgrade, default settings), no protocol.
/// <c>/echo</c> sends every message back byte for byte, doing no work per request inside it.
/// <c>/stream?size=N</c> sends N-byte messages while the client's credit lasts, packing as many as the credit allows
/// (up to 64 KiB) into one WebSocket message; the client grants credit with 4-byte messages.
/// </summary>
public sealed class WsRawServer : IAsyncDisposable
{
    /// <summary>Largest WebSocket message the raw systems build, like the grid's default merged message size.</summary>
    public const int MaxBatchBytes = 64 * 1024;

    private readonly WebApplication _app;

    private WsRawServer(WebApplication app, int port, StreamCounters counters, BenchTls? tls)
    {
        Tls = tls;
        _app = app;
        Port = port;
        Counters = counters;
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>What the stream endpoint has produced.</summary>
    public StreamCounters Counters { get; }

    /// <summary>The certificates of a TLS run (the server is then HTTPS and its clients dial wss), or null.</summary>
    public BenchTls? Tls { get; }

    /// <summary>The WebSocket address of <paramref name="path"/> on this server (ws or wss).</summary>
    public Uri Uri(string path) => new($"{BenchTls.WebSocketScheme(Tls)}://127.0.0.1:{Port}{path}");

    /// <summary>Starts a server on a free port.</summary>
    public static async Task<WsRawServer> StartAsync(BenchTls? tls, CancellationToken cancellationToken)
    {
        var port = Ports.Free();
        var counters = new StreamCounters();
        var app = await KestrelHost.StartAsync(port, HttpProtocols.Http1, _ => { }, app =>
        {
            app.UseWebSockets();
            app.Map("/echo", context => AcceptAsync(context, EchoAsync));
            app.Map("/stream", context =>
            {
                var size = int.Parse(context.Request.Query["size"].ToString(), CultureInfo.InvariantCulture);
                return AcceptAsync(context, (socket, token) => StreamAsync(socket, size, counters, token));
            });
        }, cancellationToken, tls);
        return new WsRawServer(app, port, counters, tls);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await KestrelHost.StopAsync(_app, TimeSpan.FromSeconds(1));

    private static async Task AcceptAsync(HttpContext context, Func<WebSocket, CancellationToken, Task> serve)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        try
        {
            await serve(socket, context.RequestAborted);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ConnectionAbortedException)
        {
            // The client went away: the normal end of a benchmark connection.
        }
    }

    private static async Task EchoAsync(WebSocket socket, CancellationToken token)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxBatchBytes);
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
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan().CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), token);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, token);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Binary, endOfMessage: true, token);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task StreamAsync(WebSocket socket, int size, StreamCounters counters, CancellationToken token)
    {
        var credit = new CreditGate();
        var reading = ReadCreditAsync(socket, credit, token);
        var perBatch = Math.Max(1, (MaxBatchBytes - 4) / size);
        var buffer = new byte[4 + (perBatch * size)];
        var template = Payloads.Create(size, 0);
        for (var i = 0; i < perBatch; i++)
        {
            template.CopyTo(buffer, 4 + (i * size));
        }

        long sequence = 0;
        try
        {
            while (true)
            {
                var count = (int)Math.Min(perBatch, await credit.TakeAsync(perBatch, token));
                BinaryPrimitives.WriteInt32LittleEndian(buffer, count);
                for (var i = 0; i < count; i++)
                {
                    Payloads.Stamp(buffer.AsSpan(4 + (i * size)), sequence++);
                }

                await socket.SendAsync(buffer.AsMemory(0, 4 + (count * size)), WebSocketMessageType.Binary, endOfMessage: true, token);
                counters.Add(count);
            }
        }
        catch (OperationCanceledException)
        {
            // The client closed (the credit gate closed) or the request was aborted.
        }

        await reading;
    }

    private static async Task ReadCreditAsync(WebSocket socket, CreditGate credit, CancellationToken token)
    {
        var buffer = new byte[16];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), token);
                if (result.MessageType == WebSocketMessageType.Close || result.Count < 4)
                {
                    return;
                }

                credit.Grant(BinaryPrimitives.ReadInt32LittleEndian(buffer));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client went away.
        }
        finally
        {
            credit.Close();
        }
    }
}
