namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// How hostile a seeded run's network and peers are, beyond the faults every run has (see <see cref="FaultInjector"/>).
/// <see cref="Default"/> adds nothing and draws no extra random numbers, so the default runs replay as before.
/// </summary>
internal sealed record SimulationProfile
{
    /// <summary>The plain run: no slow links, no stuck readers, every node with the default message size limit.</summary>
    public static SimulationProfile Default { get; } = new();

    /// <summary>
    /// Slow links and readers that stop or slow down for a while make up a third of the faults, and one node accepts
    /// messages of 64 KiB at most, so the larger requests and answers sent to it are oversized.
    /// </summary>
    public static SimulationProfile Hostile { get; } = new() { CapacityFaultPercent = 35, SmallLimit = 64 * 1024 };

    /// <summary>The share of injected faults, in percent, that are capacity faults: low bandwidth, stopped or slow readers.</summary>
    public int CapacityFaultPercent { get; init; }

    /// <summary>Bandwidths of slow links are drawn between these, in bytes per second.</summary>
    public (long Min, long Max) Bandwidth { get; init; } = (10_000, 500_000);

    /// <summary>When set, the node chosen by the seed has this <see cref="ManagerOptions.MaxMessageSize"/> (the others keep the default).</summary>
    public int? SmallLimit { get; init; }

    /// <summary>The node with the <see cref="SmallLimit"/>, if any, for <paramref name="seed"/> among <paramref name="nodes"/>.</summary>
    public string? SmallLimitNode(int seed, IReadOnlyList<string> nodes) => SmallLimit is null ? null : nodes[(int)((uint)seed % (uint)nodes.Count)];
}
