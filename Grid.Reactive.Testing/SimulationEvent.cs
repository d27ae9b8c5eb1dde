using System.Globalization;

namespace Grid.Reactive.Testing;

/// <summary>
/// One line of a <see cref="SimulatedGrid"/>'s trace, stamped with virtual time. Two runs of the same seed produce
/// equal traces, event for event; compare them with <see cref="ToString"/>.
/// </summary>
/// <param name="Time">The scheduler's clock when the event happened.</param>
/// <param name="Elapsed">Virtual time since the grid was created.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Node">The node it happened on (for a call, the caller).</param>
/// <param name="Remote">The other node involved, if any (for a call, the callee).</param>
/// <param name="Detail">The rest, for example the new state, the fault, or how a call ended.</param>
public sealed record SimulationEvent(DateTimeOffset Time, TimeSpan Elapsed, SimulationEventKind Kind, string Node, string? Remote, string Detail)
{
    /// <summary>Returns the event as one line, such as <c>0.00:00:01.0020003 ConnectionState a-&gt;b Connected</c>.</summary>
    /// <returns>The line.</returns>
    public override string ToString() => Remote is null
        ? string.Create(CultureInfo.InvariantCulture, $"{Elapsed:d\\.hh\\:mm\\:ss\\.fffffff} {Kind} {Node} {Detail}")
        : string.Create(CultureInfo.InvariantCulture, $"{Elapsed:d\\.hh\\:mm\\:ss\\.fffffff} {Kind} {Node}->{Remote} {Detail}");
}
