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

/// <summary>Checks a peer's handshake. Authentication comes right after the version, so an unauthenticated peer learns nothing about this node's names or clock.</summary>
internal static class HandshakeValidator
{
    public static Refusal? Check(GridContext grid, HandshakeMessage message, bool isResponse, string? expectedRemote)
    {
        if (message.Version != ProtocolConstants.Version)
        {
            return new Refusal("version", $"protocol version {message.Version} is not supported (this node speaks {ProtocolConstants.Version})");
        }

        if (!grid.Options.Authenticator.Validate(message.Claims(isResponse), message.Token))
        {
            return new Refusal("auth", $"authentication of '{message.From}' failed (wrong secret or altered handshake)");
        }

        if (!string.Equals(message.To, grid.Address, StringComparison.Ordinal))
        {
            return new Refusal("address", $"handshake is addressed to '{message.To}' but this node is '{grid.Address}'");
        }

        if (expectedRemote is not null && !string.Equals(message.From, expectedRemote, StringComparison.Ordinal))
        {
            return new Refusal("address", $"expected '{expectedRemote}' but the peer says it is '{message.From}'");
        }

        if (!grid.Remotes.Contains(message.From))
        {
            return new Refusal("unknown", $"'{message.From}' is not a known remote of '{grid.Address}'");
        }

        var skew = DateTimeOffset.FromUnixTimeMilliseconds(message.ClockUnixMs) - grid.Scheduler.Now;
        if (skew.Duration() > grid.Options.MaxClockSkew)
        {
            return new Refusal("clock", $"clock of '{message.From}' differs from ours by {skew.Duration()}, more than the allowed {grid.Options.MaxClockSkew}");
        }

        if (!isResponse && !DialDirection.ShouldDial(message.From, grid.Address))
        {
            return new Refusal("direction", $"'{message.From}' dialed, but in this pair '{grid.Address}' is the side that dials");
        }

        return null;
    }
}
