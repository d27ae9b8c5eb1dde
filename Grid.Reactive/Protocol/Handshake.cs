using System.Buffers;
using System.Text;
using MessagePack;

namespace Grid.Reactive.Protocol;

/// <summary>
/// The dialer's hello, the payload of <see cref="Op.Connect"/>: a MessagePack array
/// <c>[version, from, to, clockUnixMs, instanceId, nonce, maxMessageSize, maxCallsInFlight]</c>. It proves nothing by
/// itself: the acceptor answers with a <see cref="HandshakeChallenge"/>, and the dialer's proof follows in
/// <see cref="Op.ConnectProof"/>.
/// </summary>
/// <param name="Version">The sender's protocol version.</param>
/// <param name="From">The dialer's address.</param>
/// <param name="To">The address the dialer believes it is talking to.</param>
/// <param name="ClockUnixMs">The dialer's clock (its scheduler's now) in Unix milliseconds: a sanity check, not the freshness proof.</param>
/// <param name="InstanceId">Random per manager instance: tells a restarted peer from the old one.</param>
/// <param name="Nonce">Fresh random bytes for this attempt (<see cref="HandshakeCodec.NonceBytes"/> long).</param>
/// <param name="MaxMessageSize">The largest transport message the dialer accepts, in bytes; 0 when not told.</param>
/// <param name="MaxCallsInFlight">How many calls the dialer serves at once on this connection; 0 when not told.</param>
internal sealed record HandshakeMessage(int Version, string From, string To, long ClockUnixMs, ulong InstanceId, byte[] Nonce,
    int MaxMessageSize = 0, int MaxCallsInFlight = 0);

/// <summary>
/// The acceptor's challenge, the payload of an accepting <see cref="Op.ConnectResponse"/>: a MessagePack array
/// <c>[version, instanceId, nonce, maxMessageSize, maxCallsInFlight]</c>. It carries neither the acceptor's address nor
/// its clock, and proves nothing: the acceptor signs only after the dialer has proven itself.
/// </summary>
/// <param name="Version">The acceptor's protocol version.</param>
/// <param name="InstanceId">The acceptor's manager instance id.</param>
/// <param name="Nonce">Fresh random bytes for this connection (<see cref="HandshakeCodec.NonceBytes"/> long).</param>
/// <param name="MaxMessageSize">The largest transport message the acceptor accepts, in bytes; 0 when not told.</param>
/// <param name="MaxCallsInFlight">How many calls the acceptor serves at once on this connection; 0 when not told.</param>
internal sealed record HandshakeChallenge(int Version, ulong InstanceId, byte[] Nonce, int MaxMessageSize = 0, int MaxCallsInFlight = 0);

/// <summary>
/// Encodes and decodes the handshake's payloads: the <see cref="HandshakeMessage"/> (Connect), the
/// <see cref="HandshakeChallenge"/> (accepting ConnectResponse) and the proof (ConnectProof, <c>[token]</c>).
/// </summary>
internal static class HandshakeCodec
{
    /// <summary>Largest address (from, to), in UTF-8 bytes.</summary>
    public const int MaxAddressBytes = 1024;

    /// <summary>Largest token, in bytes.</summary>
    public const int MaxTokenBytes = 1024;

    /// <summary>Length of every nonce, in bytes.</summary>
    public const int NonceBytes = 32;

    private const int HelloFields = 8;
    private const int ChallengeFields = 5;
    private const int ProofFields = 1;

    // The clock range DateTimeOffset can represent, so that claims made from a decoded message never throw.
    private static readonly long MinClockUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxClockUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>Encodes a hello as a frame payload.</summary>
    /// <exception cref="ArgumentException">A field is one that <see cref="Decode"/> would refuse: an address over
    /// <see cref="MaxAddressBytes"/> UTF-8 bytes or not valid UTF-16, a nonce not <see cref="NonceBytes"/> long, or a
    /// clock outside the range of <see cref="DateTimeOffset"/>.</exception>
    public static byte[] Encode(HandshakeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var fromBytes = AddressBytes(message.From, nameof(message));
        var toBytes = AddressBytes(message.To, nameof(message));
        CheckNonce(message.Nonce, nameof(message));
        if (message.ClockUnixMs < MinClockUnixMs || message.ClockUnixMs > MaxClockUnixMs)
        {
            throw new ArgumentException($"The clock {message.ClockUnixMs} is outside the range of DateTimeOffset.", nameof(message));
        }

        var buffer = new ArrayBufferWriter<byte>(1 + 5 + (5 * 2) + fromBytes + toBytes + 9 + 9 + 2 + NonceBytes + 10);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(HelloFields);
        writer.Write(message.Version);
        writer.Write(message.From);
        writer.Write(message.To);
        writer.Write(message.ClockUnixMs);
        writer.Write(message.InstanceId);
        writer.Write(message.Nonce.AsSpan());
        writer.Write(message.MaxMessageSize);
        writer.Write(message.MaxCallsInFlight);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a challenge as a frame payload.</summary>
    /// <exception cref="ArgumentException">The nonce is not <see cref="NonceBytes"/> long.</exception>
    public static byte[] Encode(HandshakeChallenge challenge)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        CheckNonce(challenge.Nonce, nameof(challenge));
        var buffer = new ArrayBufferWriter<byte>(1 + 5 + 9 + 2 + NonceBytes + 10);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(ChallengeFields);
        writer.Write(challenge.Version);
        writer.Write(challenge.InstanceId);
        writer.Write(challenge.Nonce.AsSpan());
        writer.Write(challenge.MaxMessageSize);
        writer.Write(challenge.MaxCallsInFlight);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a proof (an authenticator's token) as a frame payload.</summary>
    /// <exception cref="ArgumentException">The token is longer than <see cref="MaxTokenBytes"/>.</exception>
    public static byte[] EncodeProof(byte[] token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length > MaxTokenBytes)
        {
            throw new ArgumentException($"The token is {token.Length} bytes long; at most {MaxTokenBytes} are allowed.", nameof(token));
        }

        var buffer = new ArrayBufferWriter<byte>(1 + 5 + token.Length);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(ProofFields);
        writer.Write(token.AsSpan());
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads only the version, the first element of every handshake payload, so that a peer speaking another version
    /// is refused for that reason even when the rest of its message has another shape.
    /// </summary>
    /// <exception cref="ProtocolException">The payload does not start with an array and an integer.</exception>
    public static long ReadVersion(ReadOnlyMemory<byte> payload) => Read(payload, "handshake", static (ref MessagePackReader reader, ReadOnlyMemory<byte> _) =>
    {
        var count = WireReader.ReadArrayHeader(ref reader, 0, "handshake");
        if (count == 0)
        {
            throw new ProtocolException("The handshake is an empty array; expected a version first.");
        }

        var version = WireReader.ReadInteger(ref reader, 0, "version");
        return version < long.MinValue || version > long.MaxValue ? long.MaxValue : (long)version;
    }, checkEnd: false);

    /// <summary>Decodes a hello.</summary>
    /// <returns>The message; its nonce is a copy.</returns>
    /// <exception cref="ProtocolException">The payload is not a valid hello.</exception>
    public static HandshakeMessage Decode(ReadOnlyMemory<byte> payload) => Read(payload, "handshake", static (ref MessagePackReader reader, ReadOnlyMemory<byte> payload) =>
    {
        ExpectFields(ref reader, HelloFields, "handshake");
        var version = ReadVersionField(ref reader);
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
        var nonce = ReadNonce(ref reader, payload);
        var maxMessageSize = (int)WireReader.ReadUInt(ref reader, 0, "maxMessageSize", int.MaxValue);
        var maxCalls = (int)WireReader.ReadUInt(ref reader, 0, "maxCallsInFlight", int.MaxValue);
        return new HandshakeMessage(version, from, to, (long)clock, instanceId, nonce, maxMessageSize, maxCalls);
    });

    /// <summary>Decodes a challenge.</summary>
    /// <returns>The challenge; its nonce is a copy.</returns>
    /// <exception cref="ProtocolException">The payload is not a valid challenge.</exception>
    public static HandshakeChallenge DecodeChallenge(ReadOnlyMemory<byte> payload) => Read(payload, "challenge", static (ref MessagePackReader reader, ReadOnlyMemory<byte> payload) =>
    {
        ExpectFields(ref reader, ChallengeFields, "challenge");
        var version = ReadVersionField(ref reader);
        var instanceId = WireReader.ReadUInt(ref reader, 0, "instanceId", ulong.MaxValue);
        var nonce = ReadNonce(ref reader, payload);
        var maxMessageSize = (int)WireReader.ReadUInt(ref reader, 0, "maxMessageSize", int.MaxValue);
        var maxCalls = (int)WireReader.ReadUInt(ref reader, 0, "maxCallsInFlight", int.MaxValue);
        return new HandshakeChallenge(version, instanceId, nonce, maxMessageSize, maxCalls);
    });

    /// <summary>Decodes a proof.</summary>
    /// <returns>The token; a copy.</returns>
    /// <exception cref="ProtocolException">The payload is not a valid proof.</exception>
    public static byte[] DecodeProof(ReadOnlyMemory<byte> payload) => Read(payload, "proof", static (ref MessagePackReader reader, ReadOnlyMemory<byte> payload) =>
    {
        ExpectFields(ref reader, ProofFields, "proof");
        var token = WireReader.ReadBinary(ref reader, payload, 0, "token", MaxTokenBytes, out var isNil);
        return isNil
            ? throw new ProtocolException($"The proof's token at offset {reader.Consumed - 1} is nil.")
            : token.ToArray();
    });

    private delegate T FieldsReader<T>(ref MessagePackReader reader, ReadOnlyMemory<byte> payload);

    private static T Read<T>(ReadOnlyMemory<byte> payload, string what, FieldsReader<T> read, bool checkEnd = true)
    {
        if (payload.IsEmpty)
        {
            throw new ProtocolException($"Empty {what}: expected a handshake message.");
        }

        var reader = new MessagePackReader(new ReadOnlySequence<byte>(payload));
        try
        {
            var result = read(ref reader, payload);
            if (checkEnd && !reader.End)
            {
                throw new ProtocolException($"Trailing bytes after the {what} at offset {reader.Consumed}.");
            }

            return result;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException
                                       or ArgumentException or InvalidOperationException)
        {
            // Backstop: the field readers check types and lengths first, so the MessagePack reader should not throw.
            throw new ProtocolException($"Malformed {what}: {ex.Message}", ex);
        }
    }

    private static void ExpectFields(ref MessagePackReader reader, int fields, string what)
    {
        var count = WireReader.ReadArrayHeader(ref reader, 0, what);
        if (count != fields)
        {
            throw new ProtocolException($"The {what} is an array of {count} elements; expected {fields}.");
        }
    }

    private static int ReadVersionField(ref MessagePackReader reader)
    {
        var offset = reader.Consumed;
        var version = WireReader.ReadInteger(ref reader, 0, "version");
        return version < int.MinValue || version > int.MaxValue
            ? throw new ProtocolException($"version {version} at offset {offset} is out of range.")
            : (int)version;
    }

    private static byte[] ReadNonce(ref MessagePackReader reader, ReadOnlyMemory<byte> payload)
    {
        var offset = reader.Consumed;
        var nonce = WireReader.ReadBinary(ref reader, payload, 0, "nonce", NonceBytes, out var isNil);
        return isNil || nonce.Length != NonceBytes
            ? throw new ProtocolException($"The nonce at offset {offset} is {(isNil ? "nil" : nonce.Length + " bytes long")}; expected {NonceBytes} bytes.")
            : nonce.ToArray();
    }

    private static void CheckNonce(byte[] nonce, string paramName)
    {
        ArgumentNullException.ThrowIfNull(nonce, paramName);
        if (nonce.Length != NonceBytes)
        {
            throw new ArgumentException($"The nonce is {nonce.Length} bytes long; it must be {NonceBytes}.", paramName);
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
