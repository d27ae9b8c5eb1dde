using System.IO.Hashing;
using System.Text;

namespace Grid.Reactive.Connections;

/// <summary>
/// Decides which node of a pair dials, the same way on both: <c>a</c> dials <c>b</c> when
/// xxHash64(UTF-8 of <c>a + "\n" + b</c>) is less than xxHash64 of <c>b + "\n" + a</c>, and on a tie when <c>a</c>
/// sorts first ordinally. Hashing both orders (rather than comparing names) spreads the dialing evenly over a
/// grid, so no node dials all the others. The other side only accepts; a dial from it is refused.
/// </summary>
internal static class DialDirection
{
    public static bool ShouldDial(string local, string remote)
    {
        var forward = Hash(local, remote);
        var backward = Hash(remote, local);
        return forward != backward ? forward < backward : string.CompareOrdinal(local, remote) < 0;
    }

    private static ulong Hash(string first, string second) =>
        XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(first + "\n" + second));
}
