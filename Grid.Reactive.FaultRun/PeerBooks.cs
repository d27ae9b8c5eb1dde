namespace Grid.Reactive.FaultRun;

/// <summary>What happened to the calls to one peer, and when: the ledgers plus the completion times that recovery is read from.</summary>
internal sealed class PeerBooks(string peer)
{
    private readonly Lock gate = new();
    private readonly List<(long At, long Ms, bool Stream)> okAt = [];
    private readonly List<(long At, string Error)> failedAt = [];
    private readonly List<string> examples = [];

    public string Peer { get; } = peer;
    public Ledger Requests { get; } = new();
    public Ledger Streams { get; } = new();

    public void Issued(bool stream)
    {
        lock (gate)
        {
            (stream ? Streams : Requests).Issued++;
        }
    }

    public void Ended(bool stream, Outcome outcome, string? detail, long at, long startedAt)
    {
        lock (gate)
        {
            var ledger = stream ? Streams : Requests;
            switch (outcome)
            {
                case Outcome.Ok:
                    ledger.Ok++;
                    okAt.Add((at, at - startedAt, stream));
                    break;
                case Outcome.Failed:
                    ledger.Failed[detail!] = ledger.Failed.GetValueOrDefault(detail!) + 1;
                    failedAt.Add((at, detail!));
                    break;
                case Outcome.Wrong:
                    ledger.Wrong++;
                    Remember($"wrong {(stream ? "stream" : "request")}: {detail}");
                    break;
                case Outcome.Hung:
                    ledger.Hung++;
                    Remember($"hung {(stream ? "stream" : "request")}: {detail}");
                    break;
                case Outcome.Duplicated:
                    ledger.Duplicated++;
                    Remember($"duplicated {(stream ? "stream" : "request")}: {detail}");
                    break;
                case Outcome.LateEnd:
                    ledger.LateEnds++;
                    break;
            }
        }
    }

    public (Ledger Requests, Ledger Streams, string[] Examples) Snapshot()
    {
        lock (gate)
        {
            var requests = new Ledger();
            requests.Add(Requests);
            var streams = new Ledger();
            streams.Add(Streams);
            return (requests, streams, [.. examples]);
        }
    }

    /// <summary>How the peer fared around one fault, read from the completion times.</summary>
    public FaultRecovery Recovery(FaultWindow fault)
    {
        lock (gate)
        {
            var end = fault.End ?? long.MaxValue;
            long? detected = failedAt.Where(f => f.At >= fault.Start && f.At <= end).Select(f => (long?)f.At).FirstOrDefault();
            long? recovered = fault.End is { } e ? okAt.Where(t => t.At >= e).Select(t => (long?)t.At).FirstOrDefault() : null;
            var windowEnd = recovered ?? end;
            var gap = 0L;
            var last = fault.Start;
            foreach (var t in okAt.Where(t => t.At >= fault.Start && t.At <= windowEnd).Select(t => t.At))
            {
                gap = Math.Max(gap, t - last);
                last = t;
            }

            if (windowEnd != long.MaxValue)
            {
                gap = Math.Max(gap, windowEnd - last);
            }

            var failed = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var (_, error) in failedAt.Where(f => f.At >= fault.Start && f.At <= windowEnd))
            {
                failed[error] = failed.GetValueOrDefault(error) + 1;
            }

            return new FaultRecovery(fault.Name, Peer, fault.Start, fault.End is { } x ? x - fault.Start : null,
                detected - fault.Start, recovered - fault.End, gap,
                okAt.Count(t => t.At >= fault.Start && t.At <= windowEnd), failed,
                Median(okAt.Where(t => !t.Stream && t.At >= fault.Start - 5000 && t.At < fault.Start)),
                Median(okAt.Where(t => !t.Stream && t.At >= fault.Start && t.At <= end)));
        }
    }

    private static long? Median(IEnumerable<(long At, long Ms, bool Stream)> calls)
    {
        var ms = calls.Select(c => c.Ms).Order().ToList();
        return ms.Count == 0 ? null : ms[ms.Count / 2];
    }

    private void Remember(string example)
    {
        if (examples.Count < 20)
        {
            examples.Add(example);
        }
    }
}

internal enum Outcome
{
    Ok,
    Failed,
    Wrong,
    Duplicated,
    Hung,
    LateEnd,
}
