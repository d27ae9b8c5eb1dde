using System.Diagnostics;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// Where a stream's client hands every message it receives: checks that sequence numbers arrive in order without gaps
/// and that the payload is intact (see <see cref="Payloads"/>), counts what arrives while measuring, and, for the
/// slow-consumer scenario, paces itself to a fixed rate. One stream at a time; not thread-safe.
/// </summary>
public sealed class StreamSink
{
    private readonly PhaseFlag _phase;
    private readonly double _paceTicksPerMessage;
    private long _expected;
    private long _paceStart;

    /// <summary>Creates a sink for messages of <paramref name="size"/> bytes.</summary>
    /// <param name="size">The size every message must have.</param>
    /// <param name="phase">The run's phase: messages are counted while it measures.</param>
    /// <param name="paceMessagesPerSecond">Consume at most this many messages a second; null for as fast as they come.</param>
    public StreamSink(int size, PhaseFlag phase, double? paceMessagesPerSecond = null)
    {
        Size = size;
        _phase = phase;
        _paceTicksPerMessage = paceMessagesPerSecond is { } rate ? Stopwatch.Frequency / rate : 0;
    }

    /// <summary>The size every message must have.</summary>
    public int Size { get; }

    /// <summary>Messages received in any phase.</summary>
    public long Total => Volatile.Read(ref _expected);

    /// <summary>Messages received while measuring.</summary>
    public long Measured { get; private set; }

    /// <summary>Messages that failed their check.</summary>
    public long Errors { get; private set; }

    /// <summary>What the first failed check found.</summary>
    public string? FirstError { get; private set; }

    /// <summary>Checks and counts one message; with pacing, waits until the consumer's rate allows the next.</summary>
    public ValueTask OnMessageAsync(ReadOnlyMemory<byte> message)
    {
        OnMessage(message.Span);
        return _paceTicksPerMessage > 0 ? PaceAsync() : default;
    }

    /// <summary>Checks and counts one message, without pacing.</summary>
    public void OnMessage(ReadOnlySpan<byte> message)
    {
        if (!Payloads.IsStreamMessage(message, Size, _expected))
        {
            Errors++;
            FirstError ??= $"message {_expected}: got {message.Length} bytes with sequence {Payloads.SequenceOf(message)}";
            var got = Payloads.SequenceOf(message);
            Volatile.Write(ref _expected, got >= 0 ? got + 1 : _expected + 1);
        }
        else
        {
            Volatile.Write(ref _expected, _expected + 1);
        }

        if (_phase.Measuring)
        {
            Measured++;
        }
    }

    /// <summary>Records an error that ended the stream.</summary>
    public void Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Errors++;
        FirstError ??= $"{error.GetType().Name}: {error.Message}";
    }

    private async ValueTask PaceAsync()
    {
        var now = Stopwatch.GetTimestamp();
        if (_paceStart == 0)
        {
            _paceStart = now;
            return;
        }

        var due = _paceStart + (long)(_expected * _paceTicksPerMessage);
        var ahead = due - now;
        if (ahead > Stopwatch.Frequency / 1000)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)ahead / Stopwatch.Frequency));
        }
    }
}
