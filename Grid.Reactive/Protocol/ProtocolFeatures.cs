namespace Grid.Reactive.Protocol;

/// <summary>
/// Optional protocol features a node reads, told to the peer in the seq field of its <see cref="Op.Connect"/> or
/// accepting <see cref="Op.ConnectResponse"/> frame. A node sends a feature's frames only to a peer that told it reads
/// them; nodes from before a feature send 0 there and ignore the field, so old and new nodes still talk.
/// </summary>
[Flags]
internal enum ProtocolFeatures : uint
{
    /// <summary>No optional feature.</summary>
    None = 0,

    /// <summary>Reads <see cref="FrameFlags.TraceContext"/> on request and stream-open frames.</summary>
    TraceContext = 1,

    /// <summary>What this node reads.</summary>
    Supported = TraceContext,
}
