using System.Collections.Concurrent;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Tests.Transport;

/// <summary>A message as a <see cref="RecordingLinkHandler"/> received it, with the clock reading at delivery.</summary>
internal readonly record struct ReceivedMessage(long Time, byte[] Bytes)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Bytes);
}

/// <summary>
/// A test <see cref="ILinkHandler"/>: sends what is queued with <see cref="Send(byte[][])"/> (one queued message per
/// <see cref="TryWriteMessage"/>), records what it receives and how the link closed, and checks the link's promises
/// (no overlapping writer passes, nothing after OnClosed, OnClosed once).
/// </summary>
internal sealed class RecordingLinkHandler : ILinkHandler
{
    private readonly Func<long> _clock;
    private readonly ConcurrentQueue<byte[]> _outgoing = new();
    private readonly List<ReceivedMessage> _received = [];
    private readonly List<ReceivedMessage> _written = [];
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private int _writersInside;
    private int _closedCount;
    private int _tryWriteCalls;
    private int _violations;

    /// <param name="clock">Read at each delivery and close, e.g. <c>() => testScheduler.Clock</c>; zero when null.</param>
    public RecordingLinkHandler(Func<long>? clock = null) => _clock = clock ?? (() => 0);

    public ILink? Link { get; private set; }

    /// <summary>Messages received so far, in order.</summary>
    public IReadOnlyList<ReceivedMessage> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>The received messages as UTF-8 strings.</summary>
    public IReadOnlyList<string> ReceivedTexts => [.. Received.Select(m => m.Text)];

    /// <summary>The received messages as "time:text".</summary>
    public IReadOnlyList<string> Timeline => [.. Received.Select(m => $"{m.Time}:{m.Text}")];

    public int ClosedCount => Volatile.Read(ref _closedCount);

    public long? ClosedAt { get; private set; }

    public bool IsClosed => _closed.Task.IsCompleted;

    /// <summary>The error OnClosed gave; only meaningful once <see cref="IsClosed"/>.</summary>
    public Exception? CloseError => _closed.Task.IsCompleted ? _closed.Task.Result : null;

    /// <summary>Completes with OnClosed's error.</summary>
    public Task<Exception?> Closed => _closed.Task;

    public int TryWriteCalls => Volatile.Read(ref _tryWriteCalls);

    /// <summary>The messages TryWriteMessage handed to the link, as "time:text", with the clock reading when it was asked.</summary>
    public IReadOnlyList<string> Writes
    {
        get
        {
            lock (_gate)
            {
                return [.. _written.Select(m => $"{m.Time}:{m.Text}")];
            }
        }
    }

    /// <summary>Messages queued and not yet handed to the link.</summary>
    public int QueuedCount => _outgoing.Count;

    /// <summary>Broken promises seen: overlapping writer calls, or a message or second OnClosed after OnClosed.</summary>
    public int Violations => Volatile.Read(ref _violations);

    /// <summary>Starts <paramref name="link"/> with this handler.</summary>
    public void Attach(ILink link)
    {
        Link = link;
        link.Start(this);
    }

    /// <summary>Queues messages for TryWriteMessage and asks the link to flush.</summary>
    public void Send(params byte[][] messages)
    {
        Queue(messages);
        Link!.RequestFlush();
    }

    /// <summary>Queues UTF-8 messages and asks the link to flush.</summary>
    public void Send(params string[] messages) => Send([.. messages.Select(System.Text.Encoding.UTF8.GetBytes)]);

    /// <summary>Queues messages without asking for a flush.</summary>
    public void Queue(params byte[][] messages)
    {
        foreach (var message in messages)
        {
            _outgoing.Enqueue(message);
        }
    }

    /// <summary>Completes once <paramref name="count"/> messages have been received.</summary>
    public Task WaitForMessagesAsync(int count)
    {
        lock (_gate)
        {
            if (_received.Count >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, signal));
            return signal.Task;
        }
    }

    public void OnMessage(ReadOnlyMemory<byte> message)
    {
        if (_closed.Task.IsCompleted)
        {
            Interlocked.Increment(ref _violations);
        }

        lock (_gate)
        {
            _received.Add(new ReceivedMessage(_clock(), message.ToArray()));
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_received.Count >= _waiters[i].Count)
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    public bool TryWriteMessage(PooledBufferWriter output)
    {
        Interlocked.Increment(ref _tryWriteCalls);
        if (Interlocked.Increment(ref _writersInside) != 1)
        {
            Interlocked.Increment(ref _violations);
        }

        try
        {
            if (output.WrittenCount != 0)
            {
                Interlocked.Increment(ref _violations);
            }

            if (!_outgoing.TryDequeue(out var message))
            {
                return false;
            }

            var span = output.GetSpan(message.Length);
            message.CopyTo(span);
            output.Advance(message.Length);
            lock (_gate)
            {
                _written.Add(new ReceivedMessage(_clock(), message));
            }

            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _writersInside);
        }
    }

    public void OnClosed(Exception? error)
    {
        if (Interlocked.Increment(ref _closedCount) != 1)
        {
            Interlocked.Increment(ref _violations);
            return;
        }

        ClosedAt = _clock();
        _closed.TrySetResult(error);
    }
}
