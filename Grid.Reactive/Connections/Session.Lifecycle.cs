using System.Globalization;
using System.Reactive.Disposables;
using System.Security.Cryptography;
using System.Text;
using Grid.Reactive.Diagnostics.Logging;
using Grid.Reactive.Muxing;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Connections;

/// <summary>The session's one timer (deadlines, pings, liveness, stream sweeps), holding back handlers while output is over budget, and its end.</summary>
internal sealed partial class Session
{
    /// <summary>The longest a timer is armed for; a later due time re-arms when it fires (timers of the default scheduler stop at 49.7 days).</summary>
    private static readonly long MaxTimerTicks = TimeSpan.FromDays(1).Ticks;

    private readonly TimerWork _timerWork;
    private readonly CloseWork _closeWork;
    private readonly ResumeWork _resumeWork;
    private IDisposable? _timer;
    private long _timerDueTicks = long.MaxValue;
    private long _handshakeDueTicks;
    private long _lastHeardTicks;
    private long _nextPingTicks = long.MaxValue;
    private long _nextSweepTicks = long.MaxValue;
    private bool _closed;

    /// <summary>Loop: sets the one timer for the earliest thing due, unless one is set already for that or sooner.</summary>
    private void ArmTimer()
    {
        var due = _state switch
        {
            Open => Math.Min(_deadlines.NextDueTicks, Math.Min(_nextPingTicks, Math.Min(_nextSweepTicks, LivenessDueTicks))),
            Closed => long.MaxValue,
            _ => _handshakeDueTicks,
        };
        if (due == long.MaxValue || (_timer is not null && _timerDueTicks <= due))
        {
            return;
        }

        _timer?.Dispose();
        _timerDueTicks = due;
        var delay = Math.Clamp(due - _grid.Scheduler.Now.UtcTicks, 0, MaxTimerTicks);
        _timer = _grid.Scheduler.Schedule(this, TimeSpan.FromTicks(delay), static (_, self) =>
        {
            self._loop.Post(self._timerWork);
            return Disposable.Empty;
        });
    }

    private long LivenessDueTicks => DeadlineHeap.DueAt(_lastHeardTicks, _grid.Options.PingTimeout);

    /// <summary>Loop: whatever is due now: deadlines, the handshake timeout, a ping, a silent peer, a stream sweep.</summary>
    private void OnTimer()
    {
        _timer?.Dispose();
        _timer = null;
        _timerDueTicks = long.MaxValue;
        var now = _grid.Scheduler.Now.UtcTicks;
        switch (_state)
        {
            case Closed:
                return;
            case Handshaking or Rejected:
                if (now >= _handshakeDueTicks)
                {
                    Close(new HandshakeRejectedException($"No handshake on {_link.Description} within {_grid.Options.HandshakeTimeout}."));
                    return;
                }

                break;
            default:
                if (now >= LivenessDueTicks)
                {
                    var silence = TimeSpan.FromTicks(now - _lastHeardTicks);
                    Close(new DisconnectedException(string.Create(CultureInfo.InvariantCulture,
                        $"No pong or other frame from '{RemoteAddress}' for {silence} (PingTimeout {_grid.Options.PingTimeout}); the connection from '{_grid.Address}' is considered dead.")));
                    return;
                }

                while (_deadlines.TryTakeDue(now, out var call))
                {
                    call.OnDeadline();
                }

                if (now >= _nextPingTicks)
                {
                    _nextPingTicks = DeadlineHeap.DueAt(now, _grid.Options.PingInterval);
                    Send(new Frame(Op.Ping));
                }

                if (now >= _nextSweepTicks)
                {
                    _nextSweepTicks = DeadlineHeap.DueAt(now, _grid.Options.StreamPingInterval);
                    Streams.Sweep();
                }

                break;
        }

        ArmTimer();
    }

    /// <summary>Loop: output is over budget; the handler waits until the writer has brought it back under half.</summary>
    private void Park(IncomingRequest request)
    {
        if (_parked.Count == 0)
        {
            SessionLog.OutputOverBudget(_grid.Logs.Session, _out.QueuedBytes, RemoteAddress, _grid.Options.MaxQueuedBytes);
            _out.WatchDrain(_grid.Options.MaxQueuedBytes / 2, () => _loop.Post(_resumeWork));
        }

        _parked.Enqueue(request);
    }

    /// <summary>Loop: the output drained: start the handlers held back, in order, while it stays under budget.</summary>
    private void ResumeParked()
    {
        while (_parked.Count > 0 && _state == Open)
        {
            if (OverBudget)
            {
                _out.WatchDrain(_grid.Options.MaxQueuedBytes / 2, () => _loop.Post(_resumeWork));
                return;
            }

            var request = _parked.Dequeue();
            if (_incoming.TryGetValue(request.MuxId, out var current) && ReferenceEquals(current, request))
            {
                _grid.Dispatcher.Dispatch(request);
            }
        }
    }

    /// <summary>Loop: the end. Closes the link, fails every call and stream, and tells the owner.</summary>
    private void CloseOnLoop()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        var reason = Volatile.Read(ref _closeReason)!;
        _timer?.Dispose();
        _timer = null;
        _link.Close(_closeOrderly ? null : reason);
        var lost = reason as DisconnectedException
            ?? new DisconnectedException($"The connection {_grid.Address} <-> {RemoteAddress ?? "?"} was lost: {reason.Message}", reason);
        _deadlines.Drain();
        foreach (var request in _outgoing.Values)
        {
            request.Fail(lost);
        }

        _outgoing.Clear();
        foreach (var request in _incoming.Values)
        {
            request.Cancel(lost);
        }

        _incoming.Clear();
        _parked.Clear();
        Streams.CloseAll(lost);
        _owner.OnClosed(this, reason);
    }

    private sealed class TimerWork(Session session) : ILoopWork
    {
        public void RunOnLoop() => session.OnTimer();
    }

    private sealed class CloseWork(Session session) : ILoopWork
    {
        public void RunOnLoop() => session.CloseOnLoop();
    }

    private sealed class ResumeWork(Session session) : ILoopWork
    {
        public void RunOnLoop() => session.ResumeParked();
    }
}
