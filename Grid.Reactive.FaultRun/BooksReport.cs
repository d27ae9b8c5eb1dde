using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Grid.Reactive.FaultRun;

/// <summary>
/// The load node's books at one moment: totals, per peer, and per fault the recovery of each affected peer. Clean
/// when no call was wrong, duplicated or hung (failed calls during faults are expected and only reported).
/// </summary>
internal sealed class BooksReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private BooksReport(NodeArgs args, long started, long now, bool final, Ledger requests, Ledger streams,
        IReadOnlyList<(string Peer, Ledger Requests, Ledger Streams)> peers, IReadOnlyList<FaultRecovery> recoveries, IReadOnlyList<string> examples)
    {
        Args = args;
        Started = started;
        Now = now;
        Final = final;
        Requests = requests;
        Streams = streams;
        Peers = peers;
        Recoveries = recoveries;
        Examples = examples;
    }

    public NodeArgs Args { get; }
    public long Started { get; }
    public long Now { get; }
    public bool Final { get; }
    public Ledger Requests { get; }
    public Ledger Streams { get; }
    public IReadOnlyList<(string Peer, Ledger Requests, Ledger Streams)> Peers { get; }
    public IReadOnlyList<FaultRecovery> Recoveries { get; }
    public IReadOnlyList<string> Examples { get; }

    public bool Clean => Violations == 0;

    /// <summary>Wrong, duplicated and hung calls, requests and streams; on the final books also calls never ended.</summary>
    public long Violations =>
        Requests.Wrong + Requests.Duplicated + Requests.Hung + Streams.Wrong + Streams.Duplicated + Streams.Hung
        + (Final ? (Requests.Issued - Requests.Ended) + (Streams.Issued - Streams.Ended) : 0);

    public static BooksReport Build(NodeArgs args, long started, long now, IEnumerable<PeerBooks> books, IReadOnlyList<FaultWindow> faults, bool final)
    {
        var requests = new Ledger();
        var streams = new Ledger();
        var peers = new List<(string, Ledger, Ledger)>();
        var examples = new List<string>();
        var byPeer = books.OrderBy(b => b.Peer, StringComparer.Ordinal).ToList();
        foreach (var peer in byPeer)
        {
            var (r, s, e) = peer.Snapshot();
            requests.Add(r);
            streams.Add(s);
            peers.Add((peer.Peer, r, s));
            examples.AddRange(e.Select(x => $"{peer.Peer}: {x}"));
        }

        var recoveries = faults
            .SelectMany(f => f.Peers.Select(p => (f, p)))
            .Where(x => byPeer.Any(b => b.Peer == x.p))
            .Select(x => byPeer.First(b => b.Peer == x.p).Recovery(x.f))
            .ToList();
        return new BooksReport(args, started, now, final, requests, streams, peers, recoveries, examples);
    }

    /// <summary>One line for the periodic print.</summary>
    public string Line() => string.Create(CultureInfo.InvariantCulture,
        $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} t={(Now - Started) / 1000}s requests {Brief(Requests)} | streams {Brief(Streams)}");

    private static string Brief(Ledger l) => string.Create(CultureInfo.InvariantCulture,
        $"ok={l.Ok} failed={l.FailedTotal}{(l.FailedTotal > 0 ? " (" + string.Join(", ", l.Failed.Select(f => $"{Short(f.Key)} {f.Value}")) + ")" : "")} wrong={l.Wrong} dup={l.Duplicated} hung={l.Hung} inflight={l.Issued - l.Ended}");

    private static string Short(string error) => error.EndsWith("Exception", StringComparison.Ordinal) ? error[..^"Exception".Length] : error;

    /// <summary>The human summary printed at the end.</summary>
    public string Summary()
    {
        var text = new StringBuilder();
        var seconds = (Now - Started) / 1000.0;
        text.AppendLine(CultureInfo.InvariantCulture, $"=== books of {Args.Address}: {seconds:F1} s of load, {Args.Concurrency} calls in flight per peer, deadline {Args.Deadline.TotalMilliseconds:F0} ms, grace {Args.Grace.TotalMilliseconds:F0} ms ===");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"peer",-18} {"kind",-8} {"issued",8} {"ok",8} {"failed",7} {"wrong",6} {"dup",4} {"hung",5}  failures by type");
        foreach (var (peer, r, s) in Peers)
        {
            Row(text, peer, "requests", r);
            Row(text, "", "streams", s);
        }

        Row(text, "all", "requests", Requests);
        Row(text, "", "streams", Streams);
        if (Recoveries.Count > 0)
        {
            text.AppendLine();
            var width = Math.Max(12, Recoveries.Max(r => r.Fault.Length));
            text.AppendLine(CultureInfo.InvariantCulture, $"{"fault".PadRight(width)} {"peer",-18} {"length",8} {"detected",9} {"recovered",10} {"longest gap",12} {"ok during",10} {"p50 before",11} {"p50 during",11}  failed during");
            foreach (var f in Recoveries)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"{f.Fault.PadRight(width)} {f.Peer,-18} {Ms(f.DurationMs),8} {Ms(f.DetectMs),9} {Ms(f.RecoverMs),10} {Ms(f.LongestGapMs),12} {f.OkDuring,10} {Ms(f.MedianBeforeMs),11} {Ms(f.MedianDuringMs),11}  {string.Join(", ", f.FailedDuring.Select(x => $"{Short(x.Key)} {x.Value}"))}");
            }

            text.AppendLine("(length: fault start to end; detected: start to the first failed call; recovered: end to the first successful call; longest gap: longest time without a successful call from start to recovery; p50: median round trip of successful requests in the 5 s before the fault and during it)");
        }

        foreach (var example in Examples.Take(20))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  ! {example}");
        }

        text.Append(Clean
            ? "VERDICT: clean: every call accounted for; none wrong, duplicated or hung past its deadline"
            : $"VERDICT: {Violations} violation(s): wrong, duplicated, hung or unaccounted calls (see above)");
        return text.ToString();
    }

    private static void Row(StringBuilder text, string peer, string kind, Ledger l) =>
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{peer,-18} {kind,-8} {l.Issued,8} {l.Ok,8} {l.FailedTotal,7} {l.Wrong,6} {l.Duplicated,4} {l.Hung,5}  {string.Join(", ", l.Failed.Select(f => $"{Short(f.Key)} {f.Value}"))}");

    private static string Ms(long? ms) => ms is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v} ms") : "-";

    /// <summary>Writes the books as JSON, atomically (a reader never sees half a file).</summary>
    public void Write(string? path)
    {
        if (path is null)
        {
            return;
        }

        var books = new
        {
            node = Args.Address,
            final = Final,
            clean = Clean,
            violations = Violations,
            startedAt = DateTimeOffset.FromUnixTimeMilliseconds(Started),
            seconds = (Now - Started) / 1000.0,
            settings = new
            {
                concurrencyPerPeer = Args.Concurrency,
                thinkMs = Args.Think.TotalMilliseconds,
                deadlineMs = Args.Deadline.TotalMilliseconds,
                graceMs = Args.Grace.TotalMilliseconds,
                pingIntervalMs = Args.PingInterval.TotalMilliseconds,
                pingTimeoutMs = Args.PingTimeout.TotalMilliseconds,
                streamEvery = Args.StreamEvery,
                streamMessages = Args.StreamMessages,
            },
            totals = new { requests = Requests.ToJson(), streams = Streams.ToJson() },
            peers = Peers.Select(p => new { peer = p.Peer, requests = p.Requests.ToJson(), streams = p.Streams.ToJson() }),
            faults = Recoveries.Select(f => new
            {
                fault = f.Fault,
                peer = f.Peer,
                startedAt = DateTimeOffset.FromUnixTimeMilliseconds(f.StartedAt),
                durationMs = f.DurationMs,
                detectMs = f.DetectMs,
                recoverMs = f.RecoverMs,
                longestGapMs = f.LongestGapMs,
                okDuring = f.OkDuring,
                failedDuring = f.FailedDuring,
                medianBeforeMs = f.MedianBeforeMs,
                medianDuringMs = f.MedianDuringMs,
            }),
            examples = Examples,
        };
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(books, Json));
        File.Move(temp, path, overwrite: true);
    }
}
