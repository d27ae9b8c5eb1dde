using System.Net;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Connections;

/// <summary>Whether a certificate's names vouch for the host of a grid address (TLS peer identity).</summary>
internal static class PeerIdentity
{
    /// <summary>
    /// True when <paramref name="names"/> hold the host of <paramref name="address"/>: the same IP address, the same DNS
    /// name (case aside), or a wildcard <c>*.example.com</c> standing for exactly one leftmost label.
    /// </summary>
    public static bool Certifies(IReadOnlyList<string> names, string address)
    {
        string host;
        try
        {
            host = WebSocketAddress.Parse(address).Host.Trim('[', ']');
        }
        catch (ArgumentException)
        {
            return false;
        }

        var ip = IPAddress.TryParse(host, out var parsed) ? parsed : null;
        foreach (var name in names)
        {
            if (ip is not null)
            {
                if (IPAddress.TryParse(name.Trim('[', ']'), out var named) && named.Equals(ip))
                {
                    return true;
                }
            }
            else if (string.Equals(name, host, StringComparison.OrdinalIgnoreCase) || MatchesWildcard(name, host))
            {
                return true;
            }
        }

        return false;
    }

    private static bool MatchesWildcard(string pattern, string host)
    {
        if (!pattern.StartsWith("*.", StringComparison.Ordinal) || pattern.Length < 3)
        {
            return false;
        }

        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && string.Equals(host[(dot + 1)..], pattern[2..], StringComparison.OrdinalIgnoreCase);
    }
}
