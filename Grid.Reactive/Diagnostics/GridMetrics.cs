using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Grid.Reactive.Diagnostics;

/// <summary>
/// The grid's instruments on its <see cref="Meter"/> (<see cref="GridDiagnostics.MeterName"/>), named after
/// OpenTelemetry's RPC and network semantic conventions where they fit. One set per meter: the process-wide meter by
/// default, or the one a <see cref="ManagerOptions.MeterFactory"/> makes. Every manager on a meter adds its
/// connections to the observable instruments, tagged with its address (<c>grid.node</c>).
/// </summary>
/// <remarks>
/// Hot paths check <see cref="Instrument.Enabled"/> before building tags, so a grid nobody measures pays one flag
/// read per call or message and allocates nothing.
/// </remarks>
internal sealed class GridMetrics
{
    private static readonly Meter SharedMeter = new(GridDiagnostics.MeterName, GridDiagnostics.Version);
    private static readonly ConditionalWeakTable<Meter, GridMetrics> ByMeter = [];
    private static readonly ConcurrentDictionary<ushort, string> MethodNames = new();

    private readonly Lock _gate = new();
    private readonly List<Tracked> _tracked = [];

    private GridMetrics(Meter meter)
    {
        Meter = meter;
        ClientCallDuration = meter.CreateHistogram<double>("rpc.client.call.duration", "s",
            "Duration of calls this node made (single requests until their outcome, streams until their end), by method and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        ServerCallDuration = meter.CreateHistogram<double>("rpc.server.call.duration", "s",
            "Duration of calls this node served (from arrival to the handler's end), by method and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        Dials = meter.CreateCounter<long>("grid.dials", "{dial}", "Dials this node made, by outcome (connected, failed).");
        HandshakeRefusals = meter.CreateCounter<long>("grid.handshake.refusals", "{refusal}",
            "Handshakes this node refused, by reason (version, auth, address, unknown, clock, direction).");
        IoBytes = meter.CreateCounter<long>("grid.io.bytes", "By", "Transport message bytes sent (transmit) and received (receive).");
        IoMessages = meter.CreateCounter<long>("grid.io.messages", "{message}", "Transport messages sent (transmit) and received (receive).");
        CreditWaits = meter.CreateCounter<long>("grid.stream.credit_waits", "{wait}",
            "Times a stream sender had to wait for the receiver's credit.");
        meter.CreateObservableUpDownCounter("grid.connections", ObserveConnections, "{connection}",
            "Connections to peers, by state (not_connected, connecting, connected, disconnected, shut_down).");
        meter.CreateObservableUpDownCounter("grid.calls.active", ObserveActiveCalls, "{call}",
            "Single requests in flight, by side (client: made by this node; server: served by it).");
        meter.CreateObservableUpDownCounter("grid.streams.active", ObserveActiveStreams, "{stream}",
            "Streams open, both those this node called and those it serves.");
        meter.CreateObservableUpDownCounter("grid.queue.bytes", ObserveQueuedBytes, "By",
            "Payload bytes queued for peers and not yet written (bounded per connection by MaxQueuedBytes).");
    }

    /// <summary>Bucket bounds for call durations, in seconds: OpenTelemetry's advice for RPC and HTTP, from 100 µs.</summary>
    internal static double[] DurationBuckets { get; } =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    public Meter Meter { get; }

    public Histogram<double> ClientCallDuration { get; }

    public Histogram<double> ServerCallDuration { get; }

    public Counter<long> Dials { get; }

    public Counter<long> HandshakeRefusals { get; }

    public Counter<long> IoBytes { get; }

    public Counter<long> IoMessages { get; }

    public Counter<long> CreditWaits { get; }

    /// <summary>The instruments on the meter <paramref name="factory"/> makes, or on the process-wide meter without one.</summary>
    public static GridMetrics For(IMeterFactory? factory)
    {
        var meter = factory?.Create(new MeterOptions(GridDiagnostics.MeterName) { Version = GridDiagnostics.Version }) ?? SharedMeter;
        return ByMeter.GetValue(meter, static m => new GridMetrics(m));
    }

    /// <summary>
    /// Records one call's duration on <paramref name="histogram"/> with the RPC tags both sides share;
    /// <paramref name="remote"/> (the server's address) only on the client side. No-op when nobody listens.
    /// </summary>
    public static void RecordCall(Histogram<double> histogram, long startTicks, long nowTicks, ushort handler, string? remote,
        string kind, string outcome, string? subroute, Exception? error)
    {
        if (startTicks < 0 || !histogram.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "rpc.system", GridDiagnostics.RpcSystem },
            { "rpc.method", MethodName(handler) },
            { "grid.call.kind", kind },
            { "grid.outcome", outcome },
        };
        if (remote is not null)
        {
            tags.Add("server.address", remote);
        }

        if (subroute is not null)
        {
            tags.Add("grid.subroute", subroute);
        }

        if (error is not null)
        {
            tags.Add("error.type", error.GetType().FullName);
        }

        histogram.Record(TimeSpan.FromTicks(Math.Max(0, nowTicks - startTicks)).TotalSeconds, tags);
    }

    /// <summary>The <c>rpc.method</c> of a handler: its id as text, made once per id.</summary>
    public static string MethodName(ushort handler) =>
        MethodNames.GetOrAdd(handler, static id => id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Adds a manager's connections to the observable instruments until the result is disposed.</summary>
    public IDisposable Track(string node, Func<IEnumerable<Connection>> connections)
    {
        var tracked = new Tracked(this, node, connections);
        lock (_gate)
        {
            _tracked.Add(tracked);
        }

        return tracked;
    }

    /// <summary>Counts one dial of this node by its outcome (<c>connected</c>, <c>failed</c>).</summary>
    public void Dial(string outcome, Exception? error)
    {
        if (Dials.Enabled)
        {
            Dials.Add(1, new KeyValuePair<string, object?>("grid.dial.outcome", outcome),
                new KeyValuePair<string, object?>("error.type", error?.GetType().FullName));
        }
    }

    /// <summary>Counts one transport message sent or received.</summary>
    public void Message(int bytes, bool transmit)
    {
        var direction = new KeyValuePair<string, object?>("network.io.direction", transmit ? "transmit" : "receive");
        if (IoBytes.Enabled)
        {
            IoBytes.Add(bytes, direction);
        }

        if (IoMessages.Enabled)
        {
            IoMessages.Add(1, direction);
        }
    }

    private Tracked[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _tracked];
        }
    }

    private IEnumerable<Measurement<int>> ObserveConnections()
    {
        foreach (var tracked in Snapshot())
        {
            var counts = new int[StateNames.Length];
            foreach (var connection in tracked.Connections())
            {
                counts[(int)connection.State]++;
            }

            for (var state = 0; state < counts.Length; state++)
            {
                yield return new Measurement<int>(counts[state],
                    new KeyValuePair<string, object?>("grid.node", tracked.Node),
                    new KeyValuePair<string, object?>("grid.connection.state", StateNames[state]));
            }
        }
    }

    private IEnumerable<Measurement<int>> ObserveActiveCalls()
    {
        foreach (var tracked in Snapshot())
        {
            int client = 0, server = 0;
            foreach (var session in tracked.Sessions())
            {
                client += session.PendingOutgoing;
                server += session.PendingIncoming;
            }

            var node = new KeyValuePair<string, object?>("grid.node", tracked.Node);
            yield return new Measurement<int>(client, node, new KeyValuePair<string, object?>("grid.call.side", "client"));
            yield return new Measurement<int>(server, node, new KeyValuePair<string, object?>("grid.call.side", "server"));
        }
    }

    private IEnumerable<Measurement<int>> ObserveActiveStreams()
    {
        foreach (var tracked in Snapshot())
        {
            yield return new Measurement<int>(tracked.Sessions().Sum(s => s.PendingStreams),
                new KeyValuePair<string, object?>("grid.node", tracked.Node));
        }
    }

    private IEnumerable<Measurement<long>> ObserveQueuedBytes()
    {
        foreach (var tracked in Snapshot())
        {
            yield return new Measurement<long>(tracked.Sessions().Sum(s => s.QueuedBytes),
                new KeyValuePair<string, object?>("grid.node", tracked.Node));
        }
    }

    // Indexed by ConnectionState's value.
    private static readonly string[] StateNames = ["not_connected", "connecting", "connected", "disconnected", "shut_down"];

    private sealed class Tracked(GridMetrics owner, string node, Func<IEnumerable<Connection>> connections) : IDisposable
    {
        public string Node => node;

        public IEnumerable<Connection> Connections() => connections();

        public IEnumerable<Connections.Session> Sessions() =>
            connections().Select(c => c.CurrentSession).Where(s => s is not null)!;

        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._tracked.Remove(this);
            }
        }
    }
}
