using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Grid.Reactive.Muxing;

/// <summary>A call with a deadline, linked into a <see cref="DeadlineList"/> without any allocation of its own.</summary>
internal abstract class TimedCall
{
    internal TimedCall? Previous;
    internal TimedCall? Next;
    internal DeadlineList.Lane? Lane;
    internal long DueTicks;

    /// <summary>The deadline passed. Called once, outside the list's lock, unless the call left the list first.</summary>
    public abstract void OnDeadline();
}

/// <summary>
/// The deadlines of a session's single requests, both ways, kept by one scheduler timer instead of one timer per call
/// (a timer per call costs an allocation and a timer-queue entry on each side of every request).
/// </summary>
/// <remarks>
/// Calls with the same timeout expire in the order they started, so each distinct timeout has a lane: a doubly linked
/// list appended at the tail and unlinked in O(1) when a call ends. The one timer is set for the earliest head; when
/// it fires it ends every call due by then and sets itself for the next head. A timer left set for a call that has
/// since ended just fires early and re-arms, so ending a call never touches the scheduler. Deadlines stay exact on
/// the scheduler's clock, virtual time included.
/// </remarks>
internal sealed class DeadlineList
{
    private readonly IScheduler _scheduler;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Lane> _lanes = [];
    private IDisposable? _timer;
    private long _timerDueTicks = long.MaxValue;
    private bool _closed;

    public DeadlineList(IScheduler scheduler)
    {
        _scheduler = scheduler;
    }

    public void Add(TimedCall call, TimeSpan timeout)
    {
        var now = _scheduler.Now.UtcTicks;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            if (!_lanes.TryGetValue(timeout.Ticks, out var lane))
            {
                lane = new Lane();
                _lanes.Add(timeout.Ticks, lane);
            }

            // A clock that stepped back must not reorder a lane: such a call waits as long as its predecessor.
            call.DueTicks = Math.Max(now + timeout.Ticks, lane.Tail?.DueTicks ?? long.MinValue);
            lane.Append(call);
            if (call.DueTicks < _timerDueTicks)
            {
                Arm(call.DueTicks, now);
            }
        }
    }

    public void Remove(TimedCall call)
    {
        if (Volatile.Read(ref call.Lane) is null)
        {
            return;
        }

        lock (_gate)
        {
            call.Lane?.Unlink(call);
        }
    }

    /// <summary>Stops the timer; calls still listed are ended by their session, not by their deadline.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            _timer?.Dispose();
            _timer = null;
            _lanes.Clear();
        }
    }

    private void Arm(long dueTicks, long nowTicks)
    {
        _timer?.Dispose();
        _timerDueTicks = dueTicks;
        _timer = _scheduler.Schedule(this, TimeSpan.FromTicks(Math.Max(0, dueTicks - nowTicks)), static (_, self) =>
        {
            self.Fire();
            return Disposable.Empty;
        });
    }

    private void Fire()
    {
        TimedCall? expired = null;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _timer = null;
            _timerDueTicks = long.MaxValue;
            var now = _scheduler.Now.UtcTicks;
            var next = long.MaxValue;
            foreach (var lane in _lanes.Values)
            {
                while (lane.Head is { } head && head.DueTicks <= now)
                {
                    lane.Unlink(head);
                    head.Next = expired;
                    expired = head;
                }

                if (lane.Head is { } pending && pending.DueTicks < next)
                {
                    next = pending.DueTicks;
                }
            }

            if (next != long.MaxValue)
            {
                Arm(next, now);
            }
        }

        // Chained through Next (free once unlinked), latest first: end them oldest first.
        TimedCall? ordered = null;
        while (expired is not null)
        {
            var following = expired.Next;
            expired.Next = ordered;
            ordered = expired;
            expired = following;
        }

        while (ordered is not null)
        {
            var call = ordered;
            ordered = call.Next;
            call.Next = null;
            call.OnDeadline();
        }
    }

    internal sealed class Lane
    {
        public TimedCall? Head { get; private set; }

        public TimedCall? Tail { get; private set; }

        public void Append(TimedCall call)
        {
            call.Previous = Tail;
            call.Next = null;
            if (Tail is null)
            {
                Head = call;
            }
            else
            {
                Tail.Next = call;
            }

            Tail = call;
            Volatile.Write(ref call.Lane, this);
        }

        public void Unlink(TimedCall call)
        {
            if (!ReferenceEquals(call.Lane, this))
            {
                return;
            }

            if (call.Previous is null)
            {
                Head = call.Next;
            }
            else
            {
                call.Previous.Next = call.Next;
            }

            if (call.Next is null)
            {
                Tail = call.Previous;
            }
            else
            {
                call.Next.Previous = call.Previous;
            }

            call.Previous = null;
            call.Next = null;
            Volatile.Write(ref call.Lane, null);
        }
    }
}
