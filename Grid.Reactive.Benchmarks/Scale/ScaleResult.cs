namespace Grid.Reactive.Benchmarks.Scale;

/// <summary>What one grid size measured. Times are virtual unless named wall.</summary>
internal sealed record ScaleResult
{
    public required int Nodes { get; init; }

    /// <summary>Pairs of nodes, each one connection (N(N-1)/2).</summary>
    public required long Connections { get; init; }

    /// <summary>Managed bytes held, whole grid, idle and connected, over what the process held before the nodes.</summary>
    public required long Bytes { get; init; }

    /// <summary>Bytes per connection: both ends and the in-memory link between them.</summary>
    public double BytesPerConnection => (double)Bytes / Connections;

    /// <summary>Bytes per connection end: what one node holds for one peer (half of a connection).</summary>
    public double BytesPerEnd => BytesPerConnection / 2;

    public required TimeSpan ConnectTime { get; init; }

    /// <summary>Connection pings (not stream pings) each node sends per virtual second, idle.</summary>
    public required double PingsPerNodePerSecond { get; init; }

    /// <summary>Every frame each node sends per virtual second, idle (pings and pongs).</summary>
    public required double FramesPerNodePerSecond { get; init; }

    /// <summary>Scheduler items queued per node, idle: all, and not cancelled.</summary>
    public required double QueuedPerNode { get; init; }

    public required double LivePerNode { get; init; }

    /// <summary>Connections cut by the partition, and dials during it per virtual second (whole grid, mean).</summary>
    public required long CutConnections { get; init; }

    public required double PartitionDialsPerSecond { get; init; }

    /// <summary>From the heal until every pair was connected again; null if it did not within the limit.</summary>
    public required TimeSpan? ReconnectTime { get; init; }

    public required TimeSpan MaxDelay { get; init; }

    /// <summary>Dials after the heal, whole grid.</summary>
    public required int HealDials { get; init; }

    /// <summary>Most dials after the heal in one virtual second, and in one 100 ms, whole grid.</summary>
    public required int PeakDialsPerSecond { get; init; }

    public required int PeakDialsPer100Ms { get; init; }

    /// <summary>Most dials one node made at one virtual instant after the heal, and in one virtual second.</summary>
    public required int MaxNodeDialsAtOnce { get; init; }

    public required int MaxNodeDialsPerSecond { get; init; }

    /// <summary>Cut connections the busiest node dials: its share is these over <see cref="MaxDelay"/>.</summary>
    public required int MaxNodeCutDialers { get; init; }

    public required TimeSpan Wall { get; init; }

    /// <summary>Processor time of the whole process during the run (all threads; the grid itself runs on one).</summary>
    public required TimeSpan Cpu { get; init; }

    public required string WallPhases { get; init; }
}
