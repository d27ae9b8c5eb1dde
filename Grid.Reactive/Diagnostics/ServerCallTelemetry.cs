using Grid.Reactive.Handlers;
using System.Diagnostics;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Diagnostics;

/// <summary>
/// The serving side's telemetry of one call: the Server span whose parent is the caller's context, current while
/// the handler runs (so <see cref="Activity.Current"/> inside the handler is part of the caller's trace), and the
/// duration from arrival to the handler's end for <c>rpc.server.call.duration</c>. It wraps the handler for this one
/// call; made only when someone listens.
/// </summary>
internal sealed class ServerCallTelemetry
{
    private readonly GridContext _grid;
    private readonly Activity? _activity;
    private readonly long _startTicks;
    private readonly ushort _handler;
    private readonly string? _subroute;
    private readonly string _kind;
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

    /// <summary>True when a served call has something to record.</summary>
    public static bool IsWanted(GridContext grid) => grid.Metrics.ServerCallDuration.Enabled || GridTracing.Source.HasListeners();

    /// <summary>Wraps a single request's handler (either shape) for the call that <paramref name="request"/> opens.</summary>
    public static RequestRegistration Wrap(GridContext grid, Session session, in Frame request, RequestRegistration registration)
    {
        var telemetry = new ServerCallTelemetry(grid, session, request, "request");
        return registration.TakesContext
            ? new RequestRegistration(registration.Id, registration.Subroute,
                (context, payload) => telemetry.Run((p, _) => registration.Invoke(context, p), payload, context.CancellationToken))
            : new RequestRegistration(registration.Id, registration.Subroute,
                (payload, cancellationToken) => telemetry.Run(registration.Invoke, payload, cancellationToken));
    }

    /// <summary>Wraps a stream handler for the stream that <paramref name="open"/> opens.</summary>
    public static Func<ServerStream, CancellationToken, Task> Wrap(GridContext grid, Session session, in Frame open,
        Func<ServerStream, CancellationToken, Task> serve)
    {
        var telemetry = new ServerCallTelemetry(grid, session, open, "stream");
        return (stream, cancellationToken) => telemetry.Run(serve, stream, cancellationToken);
    }

    private ValueTask<byte[]> Run(RequestHandler handler, byte[] payload, CancellationToken cancellationToken)
    {
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

        // The handler's view: it answered, threw, or gave up because the call was cancelled under it.
        var outcome = error is null ? CallOutcome.Ok
            : error is OperationCanceledException || cancellationToken.IsCancellationRequested ? CallOutcome.Cancelled
            : "error";
        if (_activity is not null)
        {
            GridTracing.Stop(_activity, error, outcome);
        }

        GridMetrics.RecordCall(_grid.Metrics.ServerCallDuration, _startTicks, _grid.Scheduler.Now.UtcTicks, _handler, remote: null, _kind, outcome, _subroute, error);
    }
}
