using Grid.Reactive.Protocol;

namespace Grid.Reactive.Connections;

/// <summary>Checks a peer's handshake message against what this node knows. Returns the refusal reason, or null.</summary>
internal static class HandshakeValidator
{
    public static string? Check(GridContext grid, HandshakeMessage message, bool isResponse, string? expectedRemote)
    {
        if (message.Version != ProtocolConstants.Version)
        {
            return $"protocol version {message.Version} is not supported (this node speaks {ProtocolConstants.Version})";
        }

        if (!string.Equals(message.To, grid.Address, StringComparison.Ordinal))
        {
            return $"handshake is addressed to '{message.To}' but this node is '{grid.Address}'";
        }

        if (expectedRemote is not null && !string.Equals(message.From, expectedRemote, StringComparison.Ordinal))
        {
            return $"expected '{expectedRemote}' but the peer says it is '{message.From}'";
        }

        if (!grid.Remotes.Contains(message.From))
        {
            return $"'{message.From}' is not a known remote of '{grid.Address}'";
        }

        var skew = DateTimeOffset.FromUnixTimeMilliseconds(message.ClockUnixMs) - grid.Scheduler.Now;
        if (skew.Duration() > grid.Options.MaxClockSkew)
        {
            return $"clock of '{message.From}' differs from ours by {skew.Duration()}, more than the allowed {grid.Options.MaxClockSkew}";
        }

        if (!grid.Options.Authenticator.Validate(message.Claims(isResponse), message.Token))
        {
            return $"authentication of '{message.From}' failed (wrong secret or altered handshake)";
        }

        if (!isResponse && !DialDirection.ShouldDial(message.From, grid.Address))
        {
            return $"'{message.From}' dialed, but in this pair '{grid.Address}' is the side that dials";
        }

        return null;
    }
}
