using System.Reactive.Linq;
using Grid.Reactive.Connections;
using Grid.Reactive.Diagnostics.Logging;

namespace Grid.Reactive;

/// <summary>The dialing side's redial pipeline: one attempt at a time, backoff with jitter after each failure, and telling an unreachable peer once.</summary>
public sealed partial class Connection
{
    internal void Start()
    {
        if (!IsDialer)
        {
            return;
        }

        // Subscribed on the scheduler, so that every node of a grid started together is listening before anyone dials.
        var dialing = Observable.Defer(() => ConnectAttempt.Create(this, _grid, _framesIn, _framesOut))
            .RetryWhen(failures => failures.Select(OnAttemptFailed).Switch())
            .SubscribeOn(_grid.Scheduler)
            .Subscribe(static _ => { }, static _ => { });
        lock (_gate)
        {
            if (_shutDown)
            {
                dialing.Dispose();
                return;
            }

            _dialing = dialing;
        }
    }

    /// <summary>
    /// A dial failed (a session that was up and ended is told by Disconnected instead). The first failure tells at
    /// Warning that the peer is unreachable, and again only when the reason changes (another exception type); the
    /// following failures are Debug, and the next connect says the peer is back.
    /// </summary>
    private void LogDialFailed(Exception error, int failures, TimeSpan delay)
    {
        _grid.Metrics.Dial("failed", error);
        var kind = error.GetType().FullName ?? error.GetType().Name;
        bool first;
        lock (_gate)
        {
            _failedDials++;
            first = !string.Equals(_unreachableReason, kind, StringComparison.Ordinal);
            _unreachableReason = kind;
        }

        if (first)
        {
            ConnectionLog.PeerUnreachable(_grid.Logs.Connection, LocalAddress, RemoteAddress, error.Message, delay);
        }
        else
        {
            ConnectionLog.DialFailed(_grid.Logs.Connection, LocalAddress, RemoteAddress, failures, delay, error.Message);
        }
    }

    private IObservable<long> OnAttemptFailed(Exception error)
    {
        var policy = _grid.Options.Reconnect;
        int failures;
        double sample;
        bool lostStable;
        bool wasConnected;
        lock (_gate)
        {
            Volatile.Write(ref _lastError, error);
            if (_shutDown)
            {
                return Observable.Never<long>();
            }

            lostStable = _connectedAtTicks >= 0 && _grid.Scheduler.Now.UtcTicks - _connectedAtTicks >= policy.StableAfter.Ticks;
            wasConnected = _connectedAtTicks >= 0;
            _connectedAtTicks = -1;
            failures = lostStable ? _failures = 0 : ++_failures;
            sample = _jitter.NextDouble();
            SetState(ConnectionState.Disconnected);
        }

        var delay = lostStable ? TimeSpan.Zero : policy.DelayFor(failures, sample);
        if (!wasConnected)
        {
            LogDialFailed(error, failures, delay);
        }

        return Observable.Timer(delay, _grid.Scheduler);
    }
}
