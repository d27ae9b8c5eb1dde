using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Grid.Reactive;

/// <summary>
/// What a handshake proof vouches for: one connection, named by both sides' fresh nonces, between two named node
/// instances, at one protocol version, made by one side. Both sides prove the same claims, each with its own
/// <see cref="Role"/>: the dialer first (answering the acceptor's challenge), then the acceptor.
/// </summary>
/// <remarks>
/// Because the claims hold the acceptor's nonce, fresh for every connection it accepts, a proof captured from one
/// connection is worth nothing on another: a replayed or relayed handshake fails. Without TLS, nothing after the
/// handshake is authenticated: an attacker who can rewrite traffic in flight can still hijack an established link.
/// Equality compares the nonces by reference.
/// </remarks>
/// <param name="ProtocolVersion">The protocol version both sides speak.</param>
/// <param name="Role">Which side makes the proof.</param>
/// <param name="Dialer">The dialer's address.</param>
/// <param name="Acceptor">The acceptor's address, as the dialer knows it.</param>
/// <param name="DialerInstanceId">The dialer's manager instance id.</param>
/// <param name="AcceptorInstanceId">The acceptor's manager instance id.</param>
/// <param name="DialerNonce">The dialer's fresh random bytes for this attempt.</param>
/// <param name="AcceptorNonce">The acceptor's fresh random bytes for this connection.</param>
/// <param name="DialerClock">The dialer's clock when it dialed (to the millisecond): a sanity check, not the freshness proof.</param>
public sealed record HandshakeClaims(int ProtocolVersion, HandshakeRole Role, string Dialer, string Acceptor,
    ulong DialerInstanceId, ulong AcceptorInstanceId, ReadOnlyMemory<byte> DialerNonce, ReadOnlyMemory<byte> AcceptorNonce,
    DateTimeOffset DialerClock)
{
    /// <summary>
    /// The TLS channel binding as this side saw it: the SHA-256 hash of the acceptor's TLS server certificate (DER),
    /// in the manner of RFC 5929 <c>tls-server-end-point</c>; empty without TLS or with binding off. A proof that
    /// covers it fails when a TLS-terminating relay presented another certificate to the dialer.
    /// </summary>
    public ReadOnlyMemory<byte> ChannelBinding { get; init; }
}

/// <summary>
/// Makes and checks handshake proofs. The grid calls it once or twice per handshake on each side, never on the
/// request path. Implementations must be thread-safe.
/// </summary>
public interface IGridAuthenticator
{
    /// <summary>Makes the token that proves this node, a member of the grid, makes <paramref name="claims"/>.</summary>
    /// <param name="claims">The connection's claims, with this node's role.</param>
    /// <returns>The token to send; at most 1 KiB.</returns>
    byte[] CreateToken(HandshakeClaims claims);

    /// <summary>Checks a peer's token for <paramref name="claims"/>.</summary>
    /// <param name="claims">The connection's claims as this node knows them, with the peer's role.</param>
    /// <param name="token">The peer's token.</param>
    /// <returns>True when the token is valid for the claims.</returns>
    bool Validate(HandshakeClaims claims, ReadOnlySpan<byte> token);
}

/// <summary>
/// Authenticates peers that share a secret: a proof is HMAC-SHA256 over the claims, compared in constant time. Takes
/// an optional previous secret, for a rolling change of secrets without a moment where two nodes cannot talk.
/// </summary>
/// <remarks>
/// <para>
/// The MAC covers an unambiguous encoding of every claim: a domain tag, the protocol version (int32), the role (one
/// byte), the dialer's and the acceptor's addresses (each a uint32 byte count and the UTF-8 bytes), both instance ids
/// (uint64), both nonces (each a uint32 byte count and the bytes), the dialer's clock in Unix milliseconds (int64) and
/// the channel binding (a uint32 byte count, zero without one, and the bytes), integers big-endian.
/// </para>
/// <para>
/// Rotation: with a previous secret, a token is two MACs (the current secret's, then the previous one's), and a token
/// is valid when any MAC in it matches either secret. So a node given (new, old) talks both to nodes that still hold
/// only the old secret and to nodes that already hold only the new one. A rolling change is two passes over the nodes,
/// restarting one at a time: first each node with (new, previous: old), then each node with (new) alone.
/// </para>
/// <para>Thread-safe: it keeps only its copies of the secrets.</para>
/// </remarks>
public sealed class SharedSecretAuthenticator : IGridAuthenticator
{
    // The shortest secret accepted, in bytes.
    private const int MinSecretBytes = 16;

    private const int MacBytes = HMACSHA256.HashSizeInBytes;

    private const int StackBufferBytes = 512;

    private readonly byte[][] _secrets;

    /// <summary>Creates the authenticator.</summary>
    /// <param name="secret">The shared secret; at least 16 bytes. It is copied.</param>
    /// <exception cref="ArgumentException">The secret is shorter than 16 bytes.</exception>
    public SharedSecretAuthenticator(ReadOnlySpan<byte> secret)
    {
        _secrets = [CheckedCopy(secret, nameof(secret))];
    }

    /// <summary>Creates an authenticator in the middle of a change of secrets: it proves itself with both, and accepts either.</summary>
    /// <param name="secret">The new shared secret; at least 16 bytes. It is copied.</param>
    /// <param name="previousSecret">The secret being retired; at least 16 bytes. It is copied.</param>
    /// <exception cref="ArgumentException">A secret is shorter than 16 bytes.</exception>
    public SharedSecretAuthenticator(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> previousSecret)
    {
        _secrets = [CheckedCopy(secret, nameof(secret)), CheckedCopy(previousSecret, nameof(previousSecret))];
    }

    // Separates these MACs from any other use of the same secret.
    private static ReadOnlySpan<byte> DomainTag => "Grid.Reactive handshake v2\0"u8;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An address is null or not valid UTF-16.</exception>
    public byte[] CreateToken(HandshakeClaims claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var token = new byte[MacBytes * _secrets.Length];
        for (var i = 0; i < _secrets.Length; i++)
        {
            if (!TrySign(_secrets[i], claims, token.AsSpan(i * MacBytes, MacBytes)))
            {
                throw new ArgumentException("The claims' addresses must be non-null, valid UTF-16 strings.", nameof(claims));
            }
        }

        return token;
    }

    /// <inheritdoc />
    public bool Validate(HandshakeClaims claims, ReadOnlySpan<byte> token)
    {
        ArgumentNullException.ThrowIfNull(claims);
        if (token.IsEmpty || token.Length % MacBytes != 0 || token.Length > 2 * MacBytes)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        var valid = false;
        foreach (var secret in _secrets)
        {
            if (!TrySign(secret, claims, expected))
            {
                return false;
            }

            for (var at = 0; at < token.Length; at += MacBytes)
            {
                valid |= CryptographicOperations.FixedTimeEquals(expected, token.Slice(at, MacBytes));
            }
        }

        return valid;
    }

    private static byte[] CheckedCopy(ReadOnlySpan<byte> secret, string paramName) => secret.Length >= MinSecretBytes
        ? secret.ToArray()
        : throw new ArgumentException($"The shared secret is {secret.Length} bytes long; at least {MinSecretBytes} are required.", paramName);

    private static bool TrySign(byte[] secret, HandshakeClaims claims, Span<byte> mac)
    {
        if (claims.Dialer is null || claims.Acceptor is null)
        {
            return false;
        }

        var maxLength = DomainTag.Length + sizeof(int) + 1 + (5 * sizeof(uint)) + Encoding.UTF8.GetMaxByteCount(claims.Dialer.Length)
            + Encoding.UTF8.GetMaxByteCount(claims.Acceptor.Length) + (2 * sizeof(ulong)) + claims.DialerNonce.Length
            + claims.AcceptorNonce.Length + sizeof(long) + claims.ChannelBinding.Length;
        byte[]? rented = null;
        var buffer = maxLength <= StackBufferBytes
            ? stackalloc byte[StackBufferBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(maxLength));
        try
        {
            DomainTag.CopyTo(buffer);
            var length = DomainTag.Length;
            BinaryPrimitives.WriteInt32BigEndian(buffer[length..], claims.ProtocolVersion);
            length += sizeof(int);
            buffer[length++] = (byte)claims.Role;
            if (!TryWriteString(claims.Dialer, buffer, ref length) || !TryWriteString(claims.Acceptor, buffer, ref length))
            {
                return false;
            }

            BinaryPrimitives.WriteUInt64BigEndian(buffer[length..], claims.DialerInstanceId);
            length += sizeof(ulong);
            BinaryPrimitives.WriteUInt64BigEndian(buffer[length..], claims.AcceptorInstanceId);
            length += sizeof(ulong);
            WriteBytes(claims.DialerNonce.Span, buffer, ref length);
            WriteBytes(claims.AcceptorNonce.Span, buffer, ref length);
            BinaryPrimitives.WriteInt64BigEndian(buffer[length..], claims.DialerClock.ToUnixTimeMilliseconds());
            length += sizeof(long);
            WriteBytes(claims.ChannelBinding.Span, buffer, ref length);

            HMACSHA256.HashData(secret, buffer[..length], mac);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void WriteBytes(ReadOnlySpan<byte> value, Span<byte> buffer, ref int length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer[length..], (uint)value.Length);
        length += sizeof(uint);
        value.CopyTo(buffer[length..]);
        length += value.Length;
    }

    /// <summary>Writes a uint32 byte count and the strict UTF-8 bytes of <paramref name="value"/>; false for invalid UTF-16.</summary>
    private static bool TryWriteString(string value, Span<byte> buffer, ref int length)
    {
        var status = Utf8.FromUtf16(value, buffer[(length + sizeof(uint))..], out _, out var written, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt32BigEndian(buffer[length..], (uint)written);
        length += sizeof(uint) + written;
        return true;
    }
}
