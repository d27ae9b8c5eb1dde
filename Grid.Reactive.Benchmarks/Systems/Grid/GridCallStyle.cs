namespace Grid.Reactive.Benchmarks.GridSystem;

/// <summary>How the benchmark's grid client waits for an answer.</summary>
public enum GridCallStyle
{
    /// <summary><c>await connection.Request(...)</c>: the documented way, through Rx's awaiter.</summary>
    Await,

    /// <summary>Subscribes a reusable observer per lane: what the library itself costs, without Rx's awaiter.</summary>
    Observer,
}
