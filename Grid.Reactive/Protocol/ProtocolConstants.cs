namespace Grid.Reactive.Protocol;

/// <summary>Numbers every node of a grid must agree on.</summary>
internal static class ProtocolConstants
{
    /// <summary>The wire protocol version carried in the handshake. A peer with another version is refused.
    /// Version 2: the challenge-response handshake (Connect, ConnectResponse, ConnectProof both ways).</summary>
    public const int Version = 2;

    /// <summary>Elements of a frame's MessagePack array without a subroute.</summary>
    public const int FrameFields = 7;

    /// <summary>Elements of a frame's MessagePack array with a subroute.</summary>
    public const int FrameFieldsWithSubroute = 8;

    /// <summary>Largest subroute, in UTF-8 bytes.</summary>
    public const int MaxSubrouteBytes = 256;
}
