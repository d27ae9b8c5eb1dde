using System.Buffers;
using System.Net.WebSockets;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Transport;

/// <summary>The reader side of a WebSocket link: one loop receiving whole messages and delivering them to the handler.</summary>
internal sealed partial class WebSocketLink
{
    private async Task ReadLoopAsync()
    {
        // Rented when a message starts to arrive; given back while the link waits idle for the next one.
        byte[]? buffer = null;
        var count = 0;
        var betweenMessages = true;
        Exception? error = null;
        var peerClosed = false;
        try
        {
            while (true)
            {
                var limit = Volatile.Read(ref _admitted) != 0 ? _maxMessageSize : Math.Min(_maxMessageSize, LinkSettings.UnauthenticatedMaxMessageSize);
                var cap = (int)Math.Min((long)limit + 1, Array.MaxLength);
                ValueWebSocketReceiveResult result;
                if (betweenMessages)
                {
                    // Wait for the next message without a buffer; a busy link finds it there at once and keeps its buffer.
                    betweenMessages = false;
                    var next = _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                    if (!next.IsCompleted && buffer is not null)
                    {
                        Release(buffer);
                        buffer = null;
                    }

                    result = await next.ConfigureAwait(false);
                }
                else
                {
                    buffer ??= ArrayPool<byte>.Shared.Rent(Volatile.Read(ref _admitted) != 0 ? _receiveBufferSize : Math.Min(_receiveBufferSize, LinkSettings.UnauthenticatedMaxMessageSize));
                    if (count == buffer.Length)
                    {
                        buffer = Grow(buffer, count, cap);
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(count, Math.Min(buffer.Length, cap) - count), CancellationToken.None)
                        .ConfigureAwait(false);
                }

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    peerClosed = true;
                    break;
                }

                if (Volatile.Read(ref _closed) is not null)
                {
                    // Closing: drain what still arrives until the peer's close frame, without delivering or growing.
                    count = 0;
                    betweenMessages = result.EndOfMessage;
                    continue;
                }

                count += result.Count;
                if (result.MessageType != WebSocketMessageType.Binary)
                {
                    TryClose(new ProtocolException($"{Description}: received a {result.MessageType} message; grid links carry binary messages only."));
                    count = 0;
                    betweenMessages = result.EndOfMessage;
                }
                else if (count > limit)
                {
                    TryClose(new ProtocolException(Volatile.Read(ref _admitted) != 0
                        ? $"{Description}: received a message larger than the {limit} bytes allowed."
                        : $"{Description}: received a message larger than the {limit} bytes allowed before the handshake."));
                    count = 0;
                }
                else if (result.EndOfMessage)
                {
                    // An empty message ends in the zero-byte wait itself, before any buffer.
                    Deliver(buffer is null ? ReadOnlyMemory<byte>.Empty : buffer.AsMemory(0, count));
                    count = 0;
                    betweenMessages = true;
                    if (buffer is not null && buffer.Length > ShrinkAbove && buffer.Length > _receiveBufferSize)
                    {
                        Release(buffer);
                        buffer = null;
                    }
                }
            }
        }
#pragma warning disable CA1031 // Whatever ends the reader ends the link with that error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = ex;
        }

        if (peerClosed)
        {
            TryClose(WebSocketCloseReason.FromPeer(Description, _socket.CloseStatus, _socket.CloseStatusDescription));
        }
        else
        {
            TryClose(error);
        }

        TryNotifyClosed();
        await _shutdownDone.Task.ConfigureAwait(false);
        _socket.Dispose();
        if (buffer is not null)
        {
            Release(buffer);
        }
        _completion.TrySetResult();
    }

    /// <summary>
    /// Doubles the receive buffer (up to <paramref name="cap"/>), keeping the <paramref name="count"/> bytes received.
    /// Buffers above <see cref="ShrinkAbove"/> are plain arrays, never pooled: the shared pool would keep them for the
    /// life of the process.
    /// </summary>
    private static byte[] Grow(byte[] buffer, int count, int cap)
    {
        var size = (int)Math.Min((long)buffer.Length * 2, cap);
        var next = size > ShrinkAbove ? GC.AllocateUninitializedArray<byte>(size) : ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan(0, count).CopyTo(next);
        Release(buffer);
        return next;
    }

    private static void Release(byte[] buffer)
    {
        if (buffer.Length <= ShrinkAbove)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Deliver(ReadOnlyMemory<byte> message)
    {
        // Paired with TryNotifyClosed: either it sees this flag and leaves OnClosed to us, or we see the close and skip.
        Interlocked.Exchange(ref _inDelivery, 1);
        try
        {
            if (Volatile.Read(ref _closed) is null)
            {
                Volatile.Read(ref _handler)?.OnMessage(message);
            }
        }
#pragma warning disable CA1031 // A handler that throws ends its link with that error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            TryClose(ex);
        }
        finally
        {
            Interlocked.Exchange(ref _inDelivery, 0);
        }

        if (Volatile.Read(ref _closed) is not null)
        {
            TryNotifyClosed();
        }
    }
}
