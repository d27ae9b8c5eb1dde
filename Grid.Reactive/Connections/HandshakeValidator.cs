using Grid.Reactive.Protocol;

namespace Grid.Reactive.Connections;

/// <summary>Why a handshake was refused: a short code the peer is told, and the detail only this node's log gets.</summary>
/// <param name="Code">What the peer learns, e.g. "auth" or "clock"; never an address, a clock or a secret.</param>
/// <param name="Detail">The full reason, for the local log.</param>
internal readonly record struct Refusal(string Code, string Detail)
{
    /// <summary>The text sent to the peer.</summary>
    public string ForPeer => "refused: " + Code;
}

/// <summary>
/// Checks a dialer's hello and proof, on the accepting side. Authentication comes first (the version was checked on
/// the hello), so an unauthenticated peer learns nothing about this node's names or clock.
/// </summary>
internal static class HandshakeValidator
{
    /// <param name="grid">This node.</param>
    /// <param name="hello">The dialer's hello.</param>
    /// <param name="claims">The connection's claims with the dialer's role, as this node knows them.</param>
    /// <param name="token">The dialer's proof.</param>
    /// <param name="peerCertificateNames">What the dialer's TLS client certificate names, when identities are checked (see <see cref="Transport.ILink.PeerCertificateNames"/>).</param>
    /// <returns>Null when the dialer may connect; otherwise why not.</returns>
    public static Refusal? Check(GridContext grid, HandshakeMessage hello, HandshakeClaims claims, ReadOnlySpan<byte> token,
        IReadOnlyList<string>? peerCertificateNames = null)
    {
        if (!grid.Options.Authenticator.Validate(claims, token))
        {
            return new Refusal("auth", string.Equals(hello.To, grid.Address, StringComparison.Ordinal)
                ? $"authentication of '{hello.From}' failed (wrong secret, altered or replayed handshake)"
                : $"authentication of '{hello.From}' failed: it addressed '{hello.To}' but this node is '{grid.Address}'");
        }

        if (!grid.Remotes.Contains(hello.From))
        {
            return new Refusal("unknown", $"'{hello.From}' is not a known remote of '{grid.Address}'");
        }

        if (peerCertificateNames is not null && !PeerIdentity.Certifies(peerCertificateNames, hello.From))
        {
            return new Refusal("identity", peerCertificateNames.Count == 0
                ? $"'{hello.From}' showed no client certificate, and this node checks that the certificate names the dialer's host"
                : $"the client certificate of the dialer claiming to be '{hello.From}' names {string.Join(", ", peerCertificateNames)}, not its host");
        }

        var skew = DateTimeOffset.FromUnixTimeMilliseconds(hello.ClockUnixMs) - grid.Scheduler.Now;
        if (skew.Duration() > grid.Options.MaxClockSkew)
        {
            return new Refusal("clock", $"clock of '{hello.From}' differs from ours by {skew.Duration()}, more than the allowed {grid.Options.MaxClockSkew}");
        }

        if (!DialDirection.ShouldDial(hello.From, grid.Address))
        {
            return new Refusal("direction", $"'{hello.From}' dialed, but in this pair '{grid.Address}' is the side that dials");
        }

        return null;
    }
}
