using System.Security.Cryptography;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Tests.Support;

/// <summary>Builds the dialer's side of a handshake by hand, for raw peers that must pass it (or fail it on purpose).</summary>
internal static class TestHandshake
{
    /// <summary>A hello with a fresh nonce and the default limits.</summary>
    public static HandshakeMessage Hello(string from, string to, DateTimeOffset clock, ulong instanceId, int version = ProtocolConstants.Version) =>
        new(version, from, to, clock.ToUnixTimeMilliseconds(), instanceId, RandomNumberGenerator.GetBytes(HandshakeCodec.NonceBytes),
            16 * 1024 * 1024, 8192);

    public static Frame ConnectFrame(HandshakeMessage hello) => new(Op.Connect, payload: HandshakeCodec.Encode(hello));

    /// <summary>The claims of the connection made of <paramref name="hello"/> and the acceptor's <paramref name="challenge"/>.</summary>
    public static HandshakeClaims Claims(HandshakeMessage hello, HandshakeChallenge challenge, HandshakeRole role) =>
        new(ProtocolConstants.Version, role, hello.From, hello.To, hello.InstanceId, challenge.InstanceId, hello.Nonce, challenge.Nonce,
            DateTimeOffset.FromUnixTimeMilliseconds(hello.ClockUnixMs));

    /// <summary>The dialer's proof frame answering <paramref name="challenge"/>.</summary>
    public static Frame ProofFrame(HandshakeMessage hello, HandshakeChallenge challenge, IGridAuthenticator authenticator) =>
        new(Op.ConnectProof, payload: HandshakeCodec.EncodeProof(authenticator.CreateToken(Claims(hello, challenge, HandshakeRole.Dialer))));
}
