namespace Grid.Reactive.Protocol;

/// <summary>
/// The payload of <see cref="Op.Connect"/> and of an accepting <see cref="Op.ConnectResponse"/>: a MessagePack array
/// <c>[version, from, to, clockUnixMs, instanceId, token]</c>.
/// </summary>
/// <param name="Version">The sender's protocol version.</param>
/// <param name="From">The sender's address.</param>
/// <param name="To">The address the sender believes it is talking to.</param>
/// <param name="ClockUnixMs">The sender's clock (its scheduler's now) in Unix milliseconds.</param>
/// <param name="InstanceId">Random per manager instance: tells a restarted peer from the old one.</param>
/// <param name="Token">Authentication token over the other fields, made by the sender's <see cref="IGridAuthenticator"/>.</param>
internal sealed record HandshakeMessage(int Version, string From, string To, long ClockUnixMs, ulong InstanceId, byte[] Token)
{
    /// <summary>The signed fields, as given to an authenticator.</summary>
    public HandshakeClaims Claims(bool isResponse) => new(Version, From, To, DateTimeOffset.FromUnixTimeMilliseconds(ClockUnixMs), InstanceId, isResponse);
}

/// <summary>Encodes and decodes <see cref="HandshakeMessage"/>s.</summary>
internal static class HandshakeCodec
{
    /// <summary>Encodes a handshake message as a frame payload.</summary>
    public static byte[] Encode(HandshakeMessage message) => throw new NotImplementedException();

    /// <summary>Decodes a handshake payload.</summary>
    /// <exception cref="ProtocolException">The payload is not a valid handshake message.</exception>
    public static HandshakeMessage Decode(ReadOnlyMemory<byte> payload) => throw new NotImplementedException();
}
