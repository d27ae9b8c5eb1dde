namespace Grid.Reactive;

/// <summary>When the grid's health check reports degraded or unhealthy, by the number of peers not connected.</summary>
public sealed class GridHealthCheckOptions
{
    /// <summary>Peers not connected from which the check reports <c>Degraded</c>. Default 1.</summary>
    public int DegradedWhenDisconnected { get; set; } = 1;

    /// <summary>
    /// Peers not connected from which the check reports its failure status (<c>Unhealthy</c> unless registered
    /// otherwise). Null (the default): when no peer is connected.
    /// </summary>
    public int? UnhealthyWhenDisconnected { get; set; }
}
