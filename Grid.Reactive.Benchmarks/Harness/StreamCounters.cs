namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>What a stream server has produced, read by the slow-consumer scenario (servers run in-process).</summary>
public sealed class StreamCounters
{
    private long _produced;

    /// <summary>Messages written by the server so far.</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>Counts <paramref name="messages"/> more messages.</summary>
    public void Add(long messages) => Interlocked.Add(ref _produced, messages);
}
