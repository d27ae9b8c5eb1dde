using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;

namespace Grid.Reactive.Testing;

/// <summary>The events of one <see cref="SimulatedGrid"/>, kept in order and published as they happen.</summary>
internal sealed class SimulationTrace(IScheduler scheduler) : IDisposable
{
    private readonly DateTimeOffset _epoch = scheduler.Now;
    private readonly List<SimulationEvent> _events = [];
    private readonly Subject<SimulationEvent> _live = new();
    private long _nextCall;
    private bool _ended;

    public IReadOnlyList<SimulationEvent> Events => _events;

    public IObservable<SimulationEvent> Live => _live.AsObservable();

    /// <summary>The next call's number.</summary>
    public long NextCallId() => ++_nextCall;

    /// <summary>Appends an event stamped with the scheduler's clock; nothing once ended.</summary>
    public void Record(SimulationEventKind kind, string node, string? remote, string detail)
    {
        if (_ended)
        {
            return;
        }

        var now = scheduler.Now;
        var e = new SimulationEvent(now, now - _epoch, kind, node, remote, detail);
        _events.Add(e);
        _live.OnNext(e);
    }

    /// <summary>Stops recording and completes <see cref="Live"/>.</summary>
    public void Dispose()
    {
        if (!_ended)
        {
            _ended = true;
            _live.OnCompleted();
            _live.Dispose();
        }
    }
}
