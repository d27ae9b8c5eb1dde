namespace Grid.Reactive.Transport;

/// <summary>One direction between two in-memory addresses, <c>From -> To</c>; the key of the per-direction fault hooks.</summary>
/// <param name="From">Address of the sending node.</param>
/// <param name="To">Address of the receiving node.</param>
internal readonly record struct InMemoryRoute(string From, string To)
{
    /// <summary>The same pair of addresses regardless of direction, for cuts.</summary>
    public InMemoryRoute Undirected => string.CompareOrdinal(From, To) <= 0 ? this : new InMemoryRoute(To, From);
}
