using System.Diagnostics;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Diagnostics;

/// <summary>
/// The caller's telemetry of one call: its Client span, the trace context its frame carries, and its duration for
/// <c>rpc.client.call.duration</c>. Made only when someone listens (or a trace is active): otherwise a call carries
/// nothing and allocates nothing for telemetry. For a single request it also stands between the call and its
/// subscriber, to see the outcome (the answer, an error, or the subscriber cancelling).
/// </summary>
internal sealed class ClientCallTelemetry : IObserver<byte[]>, IDisposable
{
    private readonly GridContext _grid;
    private readonly Activity? _activity;
    private readonly long _startTicks;
    private readonly ushort _handler;
    private readonly string? _subroute;
    private readonly string? _remote;
    private readonly string _kind;
    private IObserver<byte[]>? _observer;
    private IDisposable? _call;
    private int _ended;

    private ClientCallTelemetry(GridContext grid, Session session, ushort handler, string? subroute, string kind)
    {
        _grid = grid;
        _handler = handler;
        _subroute = subroute;
        _remote = session.RemoteAddress;
        _kind = kind;
        _startTicks = grid.Metrics.ClientCallDuration.Enabled ? grid.Scheduler.Now.UtcTicks : -1;
        _activity = GridTracing.StartClient(handler, subroute, _remote, kind);
        if (session.PeerTakesTraceContext && (_activity ?? Activity.Current) is { } context)
        {
            TraceContext = TraceContextCodec.Encode(context);
        }
    }

    /// <summary>The W3C context for the request or stream-open frame, or null.</summary>
    public byte[]? TraceContext { get; }

    /// <summary>
    /// Starts a call's telemetry, or returns null when there is nothing to record: no listener on the source or the
    /// duration histogram, and no trace to pass on.
    /// </summary>
    public static ClientCallTelemetry? TryStart(GridContext grid, Session session, ushort handler, string? subroute, string kind)
    {
        if (!grid.Metrics.ClientCallDuration.Enabled && !GridTracing.Source.HasListeners()
            && (Activity.Current is null || !session.PeerTakesTraceContext))
        {
            return null;
        }

        return new ClientCallTelemetry(grid, session, handler, subroute, kind);
    }

    /// <summary>Puts this between a single request and its subscriber; returns the observer to give the call.</summary>
    public IObserver<byte[]> Observe(IObserver<byte[]> observer)
    {
        _observer = observer;
        return this;
    }

    /// <summary>The subscription to return: disposing it records a cancel (unless the call ended) and disposes the call.</summary>
    public IDisposable Guard(IDisposable call)
    {
        _call = call;
        return this;
    }

    /// <summary>Records the end of the call, once: the first outcome wins.</summary>
    public void End(Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        var outcome = CallOutcome.Of(error);
        if (_activity is not null)
        {
            GridTracing.Stop(_activity, error, outcome);
        }

        GridMetrics.RecordCall(_grid.Metrics.ClientCallDuration, _startTicks, _grid.Scheduler.Now.UtcTicks, _handler, _remote, _kind, outcome, _subroute, error);
    }

    void IObserver<byte[]>.OnNext(byte[] value)
    {
        End(null);
        _observer!.OnNext(value);
    }

    void IObserver<byte[]>.OnError(Exception error)
    {
        End(error);
        _observer!.OnError(error);
    }

    void IObserver<byte[]>.OnCompleted() => _observer!.OnCompleted();

    void IDisposable.Dispose()
    {
        End(new OperationCanceledException("The caller cancelled the call."));
        _call?.Dispose();
    }
}
