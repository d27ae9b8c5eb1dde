using System.Threading.Tasks.Sources;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// A reusable awaitable answer for one lane of the raw clients: reset before each call, completed exactly once by the
/// reader (inline: the waiting worker's continuation runs on the reader, which is what a ceiling may do). No allocation.
/// </summary>
public sealed class Completion : IValueTaskSource<ReadOnlyMemory<byte>>
{
    private ManualResetValueTaskSourceCore<ReadOnlyMemory<byte>> _core;
    private byte[] _answer;
    private int _pending;

    /// <summary>Creates a completion whose answers start out in a buffer of <paramref name="capacity"/> bytes.</summary>
    public Completion(int capacity) => _answer = new byte[capacity];

    /// <summary>The request of the call in flight.</summary>
    public byte[]? Request { get; private set; }

    /// <summary>Starts a call: the returned task completes with the answer (valid until the next call).</summary>
    public ValueTask<ReadOnlyMemory<byte>> Begin(byte[] request)
    {
        _core.Reset();
        Request = request;
        Volatile.Write(ref _pending, 1);
        return new ValueTask<ReadOnlyMemory<byte>>(this, _core.Version);
    }

    /// <summary>Completes the call in flight with a copy of <paramref name="answer"/>; false when none was in flight.</summary>
    public bool Complete(ReadOnlySpan<byte> answer)
    {
        if (Interlocked.Exchange(ref _pending, 0) == 0)
        {
            return false;
        }

        if (_answer.Length < answer.Length)
        {
            _answer = new byte[answer.Length];
        }

        answer.CopyTo(_answer);
        _core.SetResult(_answer.AsMemory(0, answer.Length));
        return true;
    }

    /// <summary>Fails the call in flight, if any.</summary>
    public void Fail(Exception error)
    {
        if (Interlocked.Exchange(ref _pending, 0) != 0)
        {
            _core.SetException(error);
        }
    }

    /// <inheritdoc />
    public ReadOnlyMemory<byte> GetResult(short token) => _core.GetResult(token);

    /// <inheritdoc />
    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    /// <inheritdoc />
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
