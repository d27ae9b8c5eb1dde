using Grid.Reactive.Handlers;
using System.Diagnostics;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Diagnostics;

/// <summary>
/// The serving side's telemetry of one call: the Server span whose parent is the caller's context, current while
/// the handler runs (so <see cref="Activity.Current"/> inside the handler is part of the caller's trace), and the
/// duration from arrival to the call's end for <c>rpc.server.call.duration</c>. It wraps the handler for this one
/// call; made only when someone listens.
/// </summary>
/// <remarks>
/// A call started here ends here exactly once. Its handler's end ends it; but when the session ends the call first
/// (<see cref="EndedBy"/>: the caller cancelled, the deadline passed, the connection was lost), that is its outcome,
/// recorded at once when the handler has not started (a call held back while the output is over budget, or not yet
/// dispatched), and when the handler ends otherwise (so the span still covers what the handler did).
/// </remarks>
internal sealed class ServerCallTelemetry
{
    private const int Waiting = 0;
    private const int Running = 1;
    private const int Unserved = 2;

    private readonly GridContext _grid;
    private readonly Activity? _activity;
    private readonly long _startTicks;
    private readonly ushort _handler;
    private readonly string? _subroute;
    private readonly string _kind;
    private Exception? _endedBy;
    private int _stage;
    private int _ended;

    private ServerCallTelemetry(GridContext grid, Session session, in Frame open, string kind)
    {
        _grid = grid;
        _handler = open.HandlerId;
        _subroute = open.Subroute;
        _kind = kind;
        _startTicks = grid.Metrics.ServerCallDuration.Enabled ? grid.Scheduler.Now.UtcTicks : -1;
        _activity = GridTracing.StartServer(open.HandlerId, open.Subroute, session.RemoteAddress, open.TraceContext.Span, kind);
    }

    /// <summary>
    /// Starts the telemetry of the call that <paramref name="open"/> opens (<paramref name="kind"/> "request" or
    /// "stream"), or returns null when nobody listens. Once started, the call must reach its handler through
    /// <see cref="Wrap(RequestRegistration)"/> or <see cref="Wrap(Func{ServerStream, CancellationToken, Task})"/>, or end through <see cref="EndedBy"/>.
    /// </summary>
    public static ServerCallTelemetry? TryStart(GridContext grid, Session session, in Frame open, string kind) =>
        grid.Metrics.ServerCallDuration.Enabled || GridTracing.Source.HasListeners() ? new ServerCallTelemetry(grid, session, open, kind) : null;

    /// <summary>Wraps a single request's handler (either shape).</summary>
    public RequestRegistration Wrap(RequestRegistration registration) =>
        registration.TakesContext
            ? new RequestRegistration(registration.Id, registration.Subroute,
                (context, payload) => Run((p, _) => registration.Invoke(context, p), payload, context.CancellationToken))
            : new RequestRegistration(registration.Id, registration.Subroute,
                (payload, cancellationToken) => Run(registration.Invoke, payload, cancellationToken));

    /// <summary>Wraps a stream's handler.</summary>
    public Func<ServerStream, CancellationToken, Task> Wrap(Func<ServerStream, CancellationToken, Task> serve) =>
        (stream, cancellationToken) => Run(serve, stream, cancellationToken);

    /// <summary>
    /// The session ended the call before its handler did; any thread, first reason wins. Ends the telemetry now if
    /// the handler has not started (it then runs, if at all, outside the call's span), or else when the handler ends.
    /// </summary>
    public void EndedBy(Exception reason)
    {
        Interlocked.CompareExchange(ref _endedBy, reason, null);
        if (Interlocked.CompareExchange(ref _stage, Unserved, Waiting) == Waiting)
        {
            End(null, CancellationToken.None);
        }
    }

    private bool TryRun() => Interlocked.CompareExchange(ref _stage, Running, Waiting) == Waiting;

    private ValueTask<byte[]> Run(RequestHandler handler, byte[] payload, CancellationToken cancellationToken)
    {
        if (!TryRun())
        {
            return handler(payload, cancellationToken);
        }

        var previous = Activity.Current;
        ValueTask<byte[]> pending;
        try
        {
            if (_activity is not null)
            {
                Activity.Current = _activity;
            }

            pending = handler(payload, cancellationToken);
        }
        catch (Exception ex)
        {
            End(ex, cancellationToken);
            throw;
        }
        finally
        {
            Activity.Current = previous;
        }

        if (pending.IsCompletedSuccessfully)
        {
            End(null, cancellationToken);
            return pending;
        }

        return AwaitAsync(pending, cancellationToken);
    }

    private async ValueTask<byte[]> AwaitAsync(ValueTask<byte[]> pending, CancellationToken cancellationToken)
    {
        try
        {
            var result = await pending.ConfigureAwait(false);
            End(null, cancellationToken);
            return result;
        }
        catch (Exception ex)
        {
            End(ex, cancellationToken);
            throw;
        }
    }

    private async Task Run(Func<ServerStream, CancellationToken, Task> serve, ServerStream stream, CancellationToken cancellationToken)
    {
        if (!TryRun())
        {
            await serve(stream, cancellationToken).ConfigureAwait(false);
            return;
        }

        Task running;
        var previous = Activity.Current;
        try
        {
            if (_activity is not null)
            {
                Activity.Current = _activity;
            }

            running = serve(stream, cancellationToken);
        }
        catch (Exception ex)
        {
            End(ex, cancellationToken);
            throw;
        }
        finally
        {
            Activity.Current = previous;
        }

        try
        {
            await running.ConfigureAwait(false);
            End(null, cancellationToken);
        }
        catch (Exception ex)
        {
            End(ex, cancellationToken);
            throw;
        }
    }

    private void End(Exception? error, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        string outcome;
        if (Volatile.Read(ref _endedBy) is { } reason)
        {
            // The session ended the call first: the caller saw that, whatever the handler did after.
            error = reason;
            outcome = CallOutcome.Of(reason);
        }
        else
        {
            // The handler's view: it answered, threw, or gave up because the call was cancelled under it.
            outcome = error is null ? CallOutcome.Ok
                : error is OperationCanceledException || cancellationToken.IsCancellationRequested ? CallOutcome.Cancelled
                : "error";
        }

        if (_activity is not null)
        {
            GridTracing.Stop(_activity, error, outcome);
        }

        GridMetrics.RecordCall(_grid.Metrics.ServerCallDuration, _startTicks, _grid.Scheduler.Now.UtcTicks, _handler, remote: null, _kind, outcome, _subroute, error);
    }
}
