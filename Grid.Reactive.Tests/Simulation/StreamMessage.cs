using System.Globalization;
using System.Text;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// One message of a simulated stream, as it travels: <c>stream|direction|seq|body|checksum</c>. The stream id says
/// whose message it is, the sequence number (from 1, per direction) where it belongs, and the checksum (FNV-1a over
/// the rest) that it arrived as it was sent. Direction <c>u</c> is the caller's, <c>d</c> the handler's.
/// </summary>
internal readonly record struct StreamMessage(long Stream, char Direction, int Seq, string Body)
{
    public const char Up = 'u';
    public const char Down = 'd';

    public byte[] Encode()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Stream}|{Direction}|{Seq}|{Body}");
        return Encoding.UTF8.GetBytes(text + "|" + Checksum(text));
    }

    /// <summary>Reads a message; null and why when it is not one, or its checksum does not match.</summary>
    public static StreamMessage? Decode(byte[] bytes, out string? problem)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var last = text.LastIndexOf('|');
        var parts = text.Split('|');
        if (last < 0 || parts.Length != 5
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var stream)
            || parts[1].Length != 1
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            problem = $"not a stream message: '{Shorten(text)}'";
            return null;
        }

        if (Checksum(text[..last]) != text[(last + 1)..])
        {
            problem = $"checksum mismatch: '{Shorten(text)}'";
            return null;
        }

        problem = null;
        return new StreamMessage(stream, parts[1][0], seq, parts[3]);
    }

    /// <summary>The body of the caller's message <paramref name="seq"/> on stream <paramref name="stream"/>: known to both ends.</summary>
    public static string UpBody(long stream, int seq) => string.Create(CultureInfo.InvariantCulture, $"m{seq}{new string('.', (int)((stream * 31 + seq) % 40))}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Stream}|{Direction}|{Seq}|{Shorten(Body)}");

    private static string Shorten(string text) => text.Length > 60 ? text[..60] + "..." : text;

    private static string Checksum(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash.ToString("x8", CultureInfo.InvariantCulture);
    }
}
