namespace Grid.Reactive.FaultRun;

/// <summary>
/// The books of one kind of call (requests or streams) to one peer. Every issued call ends in exactly one of ok,
/// failed (by error type), wrong or hung; duplicated counts calls that got a second answer or a second end.
/// </summary>
internal sealed class Ledger
{
    public long Issued { get; set; }
    public long Ok { get; set; }
    public SortedDictionary<string, long> Failed { get; } = new(StringComparer.Ordinal);
    public long Wrong { get; set; }
    public long Duplicated { get; set; }
    public long Hung { get; set; }

    /// <summary>Hung calls whose end arrived later after all (they stay counted as hung).</summary>
    public long LateEnds { get; set; }

    public long FailedTotal => Failed.Values.Sum();

    public long Ended => Ok + FailedTotal + Wrong + Hung;

    public void Add(Ledger other)
    {
        Issued += other.Issued;
        Ok += other.Ok;
        Wrong += other.Wrong;
        Duplicated += other.Duplicated;
        Hung += other.Hung;
        LateEnds += other.LateEnds;
        foreach (var (type, count) in other.Failed)
        {
            Failed[type] = Failed.GetValueOrDefault(type) + count;
        }
    }

    public object ToJson() => new
    {
        issued = Issued,
        ok = Ok,
        failed = Failed,
        wrong = Wrong,
        duplicated = Duplicated,
        hung = Hung,
        lateEnds = LateEnds,
        inFlight = Issued - Ended,
    };
}
