using System.Globalization;

namespace Grid.Reactive.FaultRun;

/// <summary>One fault as the script applied it: from Start to End (unix ms), affecting calls to Peers.</summary>
internal sealed record FaultWindow(string Name, IReadOnlyList<string> Peers, long Start, long? End);

/// <summary>
/// How one peer's calls fared around one fault: when failures began, how long after the end the first call succeeded,
/// and the median round trip of successful requests in the 5 s before the fault and during it.
/// </summary>
internal sealed record FaultRecovery(
    string Fault,
    string Peer,
    long StartedAt,
    long? DurationMs,
    long? DetectMs,
    long? RecoverMs,
    long LongestGapMs,
    long OkDuring,
    SortedDictionary<string, long> FailedDuring,
    long? MedianBeforeMs,
    long? MedianDuringMs);

/// <summary>
/// The log the script appends to as it applies faults, one line each: "unix-ms start|end name peer[,peer...]".
/// Both sides read the same wall clock (one machine), which is why the harness, unlike the library, uses it.
/// </summary>
internal static class FaultLog
{
    public static IReadOnlyList<FaultWindow> Read(string? path)
    {
        if (path is null || !File.Exists(path))
        {
            return [];
        }

        var open = new Dictionary<string, FaultWindow>(StringComparer.Ordinal);
        var done = new List<FaultWindow>();
        foreach (var line in File.ReadAllLines(path))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 4 || !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var at))
            {
                continue;
            }

            var peers = parts[3].Split(',', StringSplitOptions.RemoveEmptyEntries);
            if (parts[1] == "start")
            {
                open[parts[2]] = new FaultWindow(parts[2], peers, at, null);
            }
            else if (parts[1] == "end" && open.Remove(parts[2], out var started))
            {
                done.Add(started with { End = at });
            }
        }

        return [.. done, .. open.Values];
    }
}
