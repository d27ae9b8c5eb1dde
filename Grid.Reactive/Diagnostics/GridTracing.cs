using System.Diagnostics;

namespace Grid.Reactive.Diagnostics;

/// <summary>
/// The grid's <see cref="ActivitySource"/> (<see cref="GridDiagnostics.ActivitySourceName"/>) and the rules that keep
/// traces clean: a call is a Client span on the caller and a Server span on the handler's node, joined by the W3C
/// context the request or stream-open frame carries; dials and the long-lived links under them are in no trace.
/// </summary>
internal static class GridTracing
{
    public static readonly ActivitySource Source = new(GridDiagnostics.ActivitySourceName, GridDiagnostics.Version);

    /// <summary>The span name of a call: <c>grid.reactive/{handler id}</c> (rpc.system/rpc.method, as OpenTelemetry names RPC spans).</summary>
    public static string SpanName(ushort handler) => GridDiagnostics.RpcSystem + "/" + GridMetrics.MethodName(handler);

    /// <summary>
    /// Starts the Client span of a call under the caller's <see cref="Activity.Current"/>, without making it current
    /// (the call lives on after the subscribing method returns). Null when nobody listens to the source.
    /// </summary>
    public static Activity? StartClient(ushort handler, string? subroute, string? remote, string kind)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var ambient = Activity.Current;
        var activity = Source.StartActivity(SpanName(handler), ActivityKind.Client);
        if (activity is null)
        {
            return null;
        }

        Activity.Current = ambient;
        if (activity.IsAllDataRequested)
        {
            SetCallTags(activity, handler, subroute, kind);
            activity.SetTag("server.address", remote);
        }

        return activity;
    }

    /// <summary>
    /// Starts the Server span of a call, whose parent is the caller's context from the frame (a root span without
    /// one: never whatever happens to be ambient on the connection's reader). Not made current; the handler runs
    /// under it (see <see cref="ServerCallTelemetry"/>). Null when nobody listens.
    /// </summary>
    public static Activity? StartServer(ushort handler, string? subroute, string? remote, ReadOnlySpan<byte> traceContext, string kind)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        TraceContextCodec.TryDecode(traceContext, out var parent);
        var ambient = Activity.Current;
        Activity.Current = null;
        var activity = Source.StartActivity(SpanName(handler), ActivityKind.Server, parent);
        Activity.Current = ambient;
        if (activity is { IsAllDataRequested: true })
        {
            SetCallTags(activity, handler, subroute, kind);
            activity.SetTag("client.address", remote);
        }

        return activity;
    }

    /// <summary>
    /// Ends a call's span with its outcome. Leaves <see cref="Activity.Current"/> as it was (<see cref="Activity.Stop"/>
    /// alone sets it to the span's parent): a call may end on any thread, a caller's or the loop run inline on it.
    /// </summary>
    public static void Stop(Activity activity, Exception? error, string outcome)
    {
        var ambient = Activity.Current;
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("grid.outcome", outcome);
            if (error is not null)
            {
                activity.SetTag("error.type", error.GetType().FullName);
                activity.SetStatus(ActivityStatusCode.Error, error.Message);
            }
        }

        activity.Stop();
        if (!ReferenceEquals(ambient, activity))
        {
            Activity.Current = ambient;
        }
    }

    /// <summary>
    /// Keeps a dial out of every trace: while it is open, <see cref="Activity.Current"/> is a parent that is not
    /// recorded, so HttpClient (under ClientWebSocket) and anything else that follows the parent's sampling decision
    /// records nothing, and a redial every few seconds does not show as a failed HTTP span each time. Dispose it right
    /// after starting the dial: the dial's own flow keeps the parent it started with.
    /// </summary>
    public static DialScope SuppressForDial() => new(Activity.Current);

    /// <summary>Marks the activity of the HTTP request a link rides on as not recorded, and leaves no activity ambient for the link.</summary>
    /// <param name="requestActivity">The request's activity (ASP.NET Core's hosting activity), or null.</param>
    /// <remarks>
    /// A link is one HTTP request that lasts as long as the link: as a span it would be one server span of hours,
    /// the parent of nothing useful. The exporters of OpenTelemetry skip activities that are not recorded.
    /// </remarks>
    public static void DetachLinkRequest(Activity? requestActivity)
    {
        if (requestActivity is not null)
        {
            requestActivity.IsAllDataRequested = false;
            requestActivity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }

        Activity.Current = null;
    }

    private static void SetCallTags(Activity activity, ushort handler, string? subroute, string kind)
    {
        activity.SetTag("rpc.system", GridDiagnostics.RpcSystem);
        activity.SetTag("rpc.method", GridMetrics.MethodName(handler));
        activity.SetTag("grid.call.kind", kind);
        if (subroute is not null)
        {
            activity.SetTag("grid.subroute", subroute);
        }
    }

    /// <summary>See <see cref="SuppressForDial"/>.</summary>
    internal readonly struct DialScope : IDisposable
    {
        private readonly Activity? _previous;

        public DialScope(Activity? previous)
        {
            _previous = previous;
#pragma warning disable CA2000 // Never stopped on purpose: it only stands as the dial's unrecorded parent, and nothing listens to it.
            var suppressing = new Activity("Grid.Reactive.Dial");
#pragma warning restore CA2000
            suppressing.SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None);
            suppressing.IsAllDataRequested = false;
            Activity.Current = null;
            suppressing.Start(); // not from a source: no listener ever sees it, and Start makes it current
        }

        public void Dispose() => Activity.Current = _previous;
    }
}
