using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;

namespace Grid.Reactive.Tests.Transport;

/// <summary>
/// A WebSocket whose incoming messages the test queues (<see cref="Deliver"/>), answering receives as the framework's
/// WebSocket does (a zero-byte receive completes when a message is there, without taking any of it; an empty message
/// ends in it), and recording the size of every buffer a receive is given. Sends are swallowed.
/// </summary>
internal sealed class ScriptedWebSocket : WebSocket
{
    private readonly Channel<byte[]> _incoming = Channel.CreateUnbounded<byte[]>();
    private readonly ConcurrentQueue<int> _receives = new();
    private readonly Lock _gate = new();
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private byte[]? _current;
    private int _offset;
    private WebSocketState _state = WebSocketState.Open;

    /// <summary>The buffer size of every receive so far, in order.</summary>
    public IReadOnlyList<int> ReceiveSizes => [.. _receives];

    public override WebSocketCloseStatus? CloseStatus => null;

    public override string? CloseStatusDescription => null;

    public override WebSocketState State => _state;

    public override string? SubProtocol => null;

    public void Deliver(byte[] message) => _incoming.Writer.TryWrite(message);

    /// <summary>Completes once <paramref name="count"/> receives have been asked for.</summary>
    public Task WaitForReceivesAsync(int count)
    {
        lock (_gate)
        {
            if (_receives.Count >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, signal));
            return signal.Task;
        }
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _receives.Enqueue(buffer.Length);
            foreach (var waiter in _waiters.Where(w => w.Count <= _receives.Count).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Signal.TrySetResult();
            }
        }

        if (_current is null)
        {
            if (!await _incoming.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) || !_incoming.Reader.TryRead(out _current))
            {
                _state = WebSocketState.CloseReceived;
                return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, endOfMessage: true);
            }

            _offset = 0;
        }

        var count = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsSpan(_offset, count).CopyTo(buffer.Span);
        _offset += count;
        var end = _offset == _current.Length;
        if (end)
        {
            _current = null;
        }

        return new ValueWebSocketReceiveResult(count, WebSocketMessageType.Binary, end);
    }

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        return new WebSocketReceiveResult(result.Count, result.MessageType, result.EndOfMessage);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        _state = WebSocketState.CloseSent;
        _incoming.Writer.TryComplete();
        return Task.CompletedTask;
    }

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override void Abort()
    {
        _state = WebSocketState.Aborted;
        _incoming.Writer.TryComplete();
    }

    public override void Dispose() => Abort();
}
