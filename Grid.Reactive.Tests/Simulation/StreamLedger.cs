using System.Reactive.Concurrency;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// Every stream of one simulation run, seen from its caller (<see cref="StreamRecord"/>) and from its handler
/// (<see cref="StreamServing"/>), and every message dropped on purpose by the network. At the end it lists every
/// broken invariant: a stream that did not end exactly once or ended in a way its plan forbids; a message out of
/// order, missing, repeated, damaged or not the stream's own, on either side; a stream served twice or by the wrong
/// node; a handler still running.
/// </summary>
/// <remarks>
/// A stream may be cut short by a lossy network (<see cref="SimulatedGrid.DropNext"/> loses whole transport messages
/// without closing the link, which a real socket never does): the receiver then sees a gap and fails the stream with a
/// protocol error, or a lost credit or end leaves it waiting. Those endings are allowed only on a pair that lost
/// messages around the stream's lifetime.
/// </remarks>
internal sealed class StreamLedger(IScheduler scheduler)
{
    /// <summary>How long before a stream started a drop may still be pending on its pair (a cut link defers it).</summary>
    private static readonly TimeSpan DropReach = TimeSpan.FromSeconds(5);

    private readonly List<StreamRecord> _streams = [];
    private readonly List<StreamServing> _servings = [];
    private readonly List<string> _handlerViolations = [];
    private readonly List<(string A, string B, DateTimeOffset At)> _drops = [];

    public int Count => _streams.Count;

    /// <summary>Messages the callers received, over all streams.</summary>
    public int Messages => _streams.Sum(s => s.Received);

    public bool AllEnded => _streams.TrueForAll(s => s.Ended);

    /// <summary>Every stream has ended, or may wait forever (see <see cref="MayStall"/>).</summary>
    public bool AllSettled => _streams.TrueForAll(s => s.Ended || MayStall(s));

    /// <summary>The streams still open, in the order they were opened.</summary>
    public IEnumerable<StreamRecord> StillOpen => _streams.Where(s => !s.Ended);

    /// <summary>Records the network's drops from the grid's events.</summary>
    public IDisposable Watch(SimulatedGrid grid) => grid.Events
        .Where(e => e.Kind == SimulationEventKind.Fault && e.Remote is not null && e.Detail.StartsWith("drop next", StringComparison.Ordinal))
        .Subscribe(e => _drops.Add((e.Node, e.Remote!, e.Time)));

    public StreamRecord Open(string from, string to, StreamKind kind, int count, StreamBehavior behavior, int gapMs, TimeSpan? deadline)
    {
        var record = new StreamRecord(scheduler, from, to, new StreamPlan(_streams.Count + 1, kind, count, behavior, gapMs), deadline);
        _streams.Add(record);
        return record;
    }

    /// <summary>A handler on <paramref name="node"/> took the stream <paramref name="plan"/> describes.</summary>
    public StreamServing Served(string node, StreamPlan plan)
    {
        var serving = new StreamServing(this, node, plan);
        _servings.Add(serving);
        return serving;
    }

    public void HandlerViolation(StreamServing serving, string violation) => _handlerViolations.Add($"{serving}: {violation}");

    /// <summary>True when the stream's pair lost messages on purpose while it lived (or shortly before).</summary>
    public bool Lossy(StreamRecord stream)
    {
        var until = stream.EndedAt ?? scheduler.Now;
        return _drops.Exists(d => ((d.A == stream.From && d.B == stream.To) || (d.A == stream.To && d.B == stream.From))
            && stream.StartedAt - d.At <= DropReach && d.At <= until);
    }

    /// <summary>A stream that may wait forever: its handler never ends and it has no deadline, or its pair lost messages.</summary>
    public bool MayStall(StreamRecord stream) =>
        (stream.Plan.Behavior == StreamBehavior.Hang && stream.Deadline is null) || Lossy(stream);

    public IEnumerable<string> Violations()
    {
        foreach (var stream in _streams)
        {
            foreach (var violation in stream.Violations(Lossy(stream), MayStall(stream)))
            {
                yield return $"stream {stream}: {violation}";
            }
        }

        foreach (var group in _servings.GroupBy(s => s.Plan.Id))
        {
            var stream = _streams[(int)group.Key - 1];
            if (group.Count() > 1 || group.Any(s => s.Node != stream.To))
            {
                yield return $"stream {stream}: served by {string.Join(", ", group.Select(s => s.Node))}; expected at most once, by {stream.To}";
            }
        }

        foreach (var serving in _servings.Where(s => !s.Ended))
        {
            yield return $"{serving}: the handler never ended (its token never fired, or it ignored it)";
        }

        foreach (var violation in _handlerViolations)
        {
            yield return violation;
        }
    }

    /// <summary>How many streams ended each way.</summary>
    public IReadOnlyDictionary<string, int> Endings() => _streams.GroupBy(s => s.Ending).ToDictionary(g => g.Key, g => g.Count());
}
