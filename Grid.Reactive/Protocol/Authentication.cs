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
public sealed class SharedSecretAuthenticator : IGridAuthenticator
{
    /// <summary>Creates the authenticator.</summary>
    /// <param name="secret">The shared secret; at least 16 bytes.</param>
    /// <exception cref="ArgumentException">The secret is shorter than 16 bytes.</exception>
    public SharedSecretAuthenticator(ReadOnlySpan<byte> secret) => throw new NotImplementedException();

    /// <inheritdoc />
    public byte[] CreateToken(HandshakeClaims claims) => throw new NotImplementedException();

    /// <inheritdoc />
    public bool Validate(HandshakeClaims claims, ReadOnlySpan<byte> token) => throw new NotImplementedException();
}
