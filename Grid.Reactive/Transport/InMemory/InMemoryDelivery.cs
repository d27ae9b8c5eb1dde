namespace Grid.Reactive.Transport;

/// <summary>
/// One item travelling towards an in-memory endpoint: a message, or the end of the peer's side (like a TCP FIN),
/// which arrives after the messages sent before it.
/// </summary>
/// <param name="Message">The message bytes; null for the end marker.</param>
/// <param name="PeerError">For the end marker: the error the receiver reports, or null for an orderly close.</param>
/// <param name="Due">When the item may be delivered, on the network's scheduler clock.</param>
internal readonly record struct InMemoryDelivery(byte[]? Message, Exception? PeerError, DateTimeOffset Due)
{
    /// <summary>True for the end marker.</summary>
    public bool IsEnd => Message is null;
}
