using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Grid.Reactive;

/// <summary>What a handshake token vouches for. Both sides sign their own claims; each checks the other's.</summary>
/// <param name="ProtocolVersion">The sender's protocol version.</param>
/// <param name="From">The sender's address.</param>
/// <param name="To">The receiver's address, as the sender knows it.</param>
/// <param name="Clock">The sender's clock when it sent the handshake.</param>
/// <param name="InstanceId">The sender's manager instance id.</param>
/// <param name="IsResponse">False for the dialer's <see cref="Op.Connect"/>, true for the acceptor's answer, so one cannot be replayed as the other.</param>
public sealed record HandshakeClaims(int ProtocolVersion, string From, string To, DateTimeOffset Clock, ulong InstanceId, bool IsResponse);

/// <summary>
/// Makes and checks handshake tokens. The grid calls it once per handshake on each side, never on the request path.
/// Implementations must be thread-safe.
/// </summary>
public interface IGridAuthenticator
{
    /// <summary>Makes the token that proves <paramref name="claims"/> come from a member of the grid.</summary>
    /// <param name="claims">This node's claims.</param>
    /// <returns>The token to send.</returns>
    byte[] CreateToken(HandshakeClaims claims);

    /// <summary>Checks a peer's token for its <paramref name="claims"/>.</summary>
    /// <param name="claims">The peer's claims as received.</param>
    /// <param name="token">The peer's token.</param>
    /// <returns>True when the token is valid for the claims.</returns>
    bool Validate(HandshakeClaims claims, ReadOnlySpan<byte> token);
}

/// <summary>
/// Authenticates peers that share a secret: the token is HMAC-SHA256 over the claims, compared in constant time.
/// </summary>
/// <remarks>
/// The MAC covers an unambiguous encoding of every claim: a domain tag, then the protocol version (int32), from and to
/// (each a uint32 byte count and the UTF-8 bytes), the clock in Unix milliseconds (int64), the instance id (uint64)
/// and <see cref="HandshakeClaims.IsResponse"/> (one byte), integers big-endian. Thread-safe: it keeps only its copy
/// of the secret.
/// </remarks>
public sealed class SharedSecretAuthenticator : IGridAuthenticator
{
    // The shortest secret accepted, in bytes.
    private const int MinSecretBytes = 16;

    private const int StackBufferBytes = 512;

    private readonly byte[] _secret;

    /// <summary>Creates the authenticator.</summary>
    /// <param name="secret">The shared secret; at least 16 bytes. It is copied.</param>
    /// <exception cref="ArgumentException">The secret is shorter than 16 bytes.</exception>
    public SharedSecretAuthenticator(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < MinSecretBytes)
        {
            throw new ArgumentException($"The shared secret is {secret.Length} bytes long; at least {MinSecretBytes} are required.", nameof(secret));
        }

        _secret = secret.ToArray();
    }

    // Separates these MACs from any other use of the same secret.
    private static ReadOnlySpan<byte> DomainTag => "Grid.Reactive handshake v1\0"u8;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An address is null or not valid UTF-16.</exception>
    public byte[] CreateToken(HandshakeClaims claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var token = new byte[HMACSHA256.HashSizeInBytes];
        return TrySign(claims, token)
            ? token
            : throw new ArgumentException("The claims' addresses must be non-null, valid UTF-16 strings.", nameof(claims));
    }

    /// <inheritdoc />
    public bool Validate(HandshakeClaims claims, ReadOnlySpan<byte> token)
    {
        ArgumentNullException.ThrowIfNull(claims);
        if (token.Length != HMACSHA256.HashSizeInBytes)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        return TrySign(claims, expected) && CryptographicOperations.FixedTimeEquals(expected, token);
    }

    private bool TrySign(HandshakeClaims claims, Span<byte> mac)
    {
        if (claims.From is null || claims.To is null)
        {
            return false;
        }

        var maxLength = DomainTag.Length + sizeof(int) + (2 * sizeof(uint)) + Encoding.UTF8.GetMaxByteCount(claims.From.Length)
            + Encoding.UTF8.GetMaxByteCount(claims.To.Length) + sizeof(long) + sizeof(ulong) + 1;
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
            if (!TryWriteString(claims.From, buffer, ref length) || !TryWriteString(claims.To, buffer, ref length))
            {
                return false;
            }

            BinaryPrimitives.WriteInt64BigEndian(buffer[length..], claims.Clock.ToUnixTimeMilliseconds());
            length += sizeof(long);
            BinaryPrimitives.WriteUInt64BigEndian(buffer[length..], claims.InstanceId);
            length += sizeof(ulong);
            buffer[length++] = claims.IsResponse ? (byte)1 : (byte)0;

            HMACSHA256.HashData(_secret, buffer[..length], mac);
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
