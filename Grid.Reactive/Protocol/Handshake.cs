using System.Buffers;
using System.Text;
using MessagePack;

namespace Grid.Reactive.Protocol;

/// <summary>
/// The payload of <see cref="Op.Connect"/> and of an accepting <see cref="Op.ConnectResponse"/>: a MessagePack array
/// <c>[version, from, to, clockUnixMs, instanceId, token, maxMessageSize, maxCallsInFlight]</c>. The last two are the
/// sender's limits, which the receiver respects when it sends; a peer that sends only the first six has unknown limits (0).
/// </summary>
/// <param name="Version">The sender's protocol version.</param>
/// <param name="From">The sender's address.</param>
/// <param name="To">The address the sender believes it is talking to.</param>
/// <param name="ClockUnixMs">The sender's clock (its scheduler's now) in Unix milliseconds.</param>
/// <param name="InstanceId">Random per manager instance: tells a restarted peer from the old one.</param>
/// <param name="Token">Authentication token over the other fields, made by the sender's <see cref="IGridAuthenticator"/>.</param>
/// <param name="MaxMessageSize">The largest transport message the sender accepts, in bytes; 0 when not told.</param>
/// <param name="MaxCallsInFlight">How many calls the sender serves at once on this connection; 0 when not told.</param>
internal sealed record HandshakeMessage(int Version, string From, string To, long ClockUnixMs, ulong InstanceId, byte[] Token,
    int MaxMessageSize = 0, int MaxCallsInFlight = 0)
{
    /// <summary>The signed fields, as given to an authenticator.</summary>
    public HandshakeClaims Claims(bool isResponse) => new(Version, From, To, DateTimeOffset.FromUnixTimeMilliseconds(ClockUnixMs), InstanceId, isResponse);
}

/// <summary>Encodes and decodes <see cref="HandshakeMessage"/>s.</summary>
internal static class HandshakeCodec
{
    /// <summary>Largest address (from, to), in UTF-8 bytes.</summary>
    public const int MaxAddressBytes = 1024;

    /// <summary>Largest token, in bytes.</summary>
    public const int MaxTokenBytes = 1024;

    private const int Fields = 8;
    private const int FieldsWithoutLimits = 6;

    // The clock range DateTimeOffset can represent, so that HandshakeMessage.Claims never throws for a decoded message.
    private static readonly long MinClockUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxClockUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>Encodes a handshake message as a frame payload.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The payload.</returns>
    /// <exception cref="ArgumentException">A field is one that <see cref="Decode"/> would refuse: an address over
    /// <see cref="MaxAddressBytes"/> UTF-8 bytes or not valid UTF-16, a token over <see cref="MaxTokenBytes"/> bytes, or a
    /// clock outside the range of <see cref="DateTimeOffset"/>.</exception>
    public static byte[] Encode(HandshakeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var fromBytes = AddressBytes(message.From, nameof(message));
        var toBytes = AddressBytes(message.To, nameof(message));
        ArgumentNullException.ThrowIfNull(message.Token, nameof(message));
        if (message.Token.Length > MaxTokenBytes)
        {
            throw new ArgumentException($"The token is {message.Token.Length} bytes long; at most {MaxTokenBytes} are allowed.", nameof(message));
        }

        if (message.ClockUnixMs < MinClockUnixMs || message.ClockUnixMs > MaxClockUnixMs)
        {
            throw new ArgumentException($"The clock {message.ClockUnixMs} is outside the range of DateTimeOffset.", nameof(message));
        }

        // Upper bound: array header, version, two string headers, clock, instance id, bin header.
        var buffer = new ArrayBufferWriter<byte>(1 + 5 + (5 * 2) + fromBytes + toBytes + 9 + 9 + 5 + message.Token.Length + 10);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(Fields);
        writer.Write(message.Version);
        writer.Write(message.From);
        writer.Write(message.To);
        writer.Write(message.ClockUnixMs);
        writer.Write(message.InstanceId);
        writer.Write(message.Token.AsSpan());
        writer.Write(message.MaxMessageSize);
        writer.Write(message.MaxCallsInFlight);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a handshake payload.</summary>
    /// <param name="payload">The payload of an <see cref="Op.Connect"/> or accepting <see cref="Op.ConnectResponse"/>.</param>
    /// <returns>The message; its token is a copy.</returns>
    /// <exception cref="ProtocolException">The payload is not a valid handshake message.</exception>
    public static HandshakeMessage Decode(ReadOnlyMemory<byte> payload)
    {
        if (payload.IsEmpty)
        {
            throw new ProtocolException("Empty handshake: expected a handshake message.");
        }

        var reader = new MessagePackReader(new ReadOnlySequence<byte>(payload));
        try
        {
            var count = WireReader.ReadArrayHeader(ref reader, 0, "handshake");
            if (count is not (Fields or FieldsWithoutLimits))
            {
                throw new ProtocolException($"The handshake is an array of {count} elements; expected {FieldsWithoutLimits} or {Fields}.");
            }

            var versionOffset = reader.Consumed;
            var version = WireReader.ReadInteger(ref reader, 0, "version");
            if (version < int.MinValue || version > int.MaxValue)
            {
                throw new ProtocolException($"version {version} at offset {versionOffset} is out of range.");
            }

            var span = payload.Span;
            var from = WireReader.ReadString(ref reader, span, 0, "from", MaxAddressBytes);
            var to = WireReader.ReadString(ref reader, span, 0, "to", MaxAddressBytes);

            var clockOffset = reader.Consumed;
            var clock = WireReader.ReadInteger(ref reader, 0, "clockUnixMs");
            if (clock < MinClockUnixMs || clock > MaxClockUnixMs)
            {
                throw new ProtocolException($"clockUnixMs {clock} at offset {clockOffset} is outside the range of DateTimeOffset.");
            }

            var instanceId = WireReader.ReadUInt(ref reader, 0, "instanceId", ulong.MaxValue);
            var token = WireReader.ReadBinary(ref reader, payload, 0, "token", MaxTokenBytes, out var tokenIsNil);
            if (tokenIsNil)
            {
                throw new ProtocolException($"The handshake's token at offset {reader.Consumed - 1} is nil.");
            }

            int maxMessageSize = 0, maxCalls = 0;
            if (count == Fields)
            {
                maxMessageSize = (int)WireReader.ReadUInt(ref reader, 0, "maxMessageSize", int.MaxValue);
                maxCalls = (int)WireReader.ReadUInt(ref reader, 0, "maxCallsInFlight", int.MaxValue);
            }

            if (!reader.End)
            {
                throw new ProtocolException($"Trailing bytes after the handshake message at offset {reader.Consumed}.");
            }

            return new HandshakeMessage((int)version, from, to, (long)clock, instanceId, token.ToArray(), maxMessageSize, maxCalls);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException
                                       or ArgumentException or InvalidOperationException)
        {
            // Backstop: the field readers check types and lengths first, so the MessagePack reader should not throw.
            throw new ProtocolException($"Malformed handshake: {ex.Message}", ex);
        }
    }

    private static int AddressBytes(string address, string paramName)
    {
        ArgumentNullException.ThrowIfNull(address, paramName);
        int bytes;
        try
        {
            bytes = FrameCodec.StrictUtf8.GetByteCount(address);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("An address is not valid UTF-16 (lone surrogate).", paramName, ex);
        }

        return bytes <= MaxAddressBytes
            ? bytes
            : throw new ArgumentException($"An address is {bytes} UTF-8 bytes long; at most {MaxAddressBytes} are allowed.", paramName);
    }
}
