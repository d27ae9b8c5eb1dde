using System.Diagnostics.Tracing;
using System.Globalization;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// Which types a run allocates (behind <c>--alloc-types</c>): listens to the runtime's GC AllocationTick events (one per
/// about 100 KB allocated, naming the type whose allocation crossed the mark), so the counts are a sample proportional
/// to bytes. Used by the alloc scenario to name what a system allocates per operation.
/// </summary>
public sealed class AllocationSampler : EventListener
{
    private const int AllocationTickEventId = 10;
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private volatile bool _sampling;

    /// <summary>Starts counting.</summary>
    public void Start()
    {
        lock (_gate)
        {
            _bytes.Clear();
        }

        _sampling = true;
    }

    /// <summary>Stops counting and returns the types by sampled bytes, largest first, with their share in percent.</summary>
    public IReadOnlyList<(string Type, double Percent)> Stop(int top)
    {
        _sampling = false;
        lock (_gate)
        {
            var total = (double)Math.Max(1, _bytes.Values.Sum());
            return _bytes.OrderByDescending(p => p.Value).Take(top).Select(p => (p.Key, 100.0 * p.Value / total)).ToList();
        }
    }

    /// <summary>Formats the top types for a note: "Type 23 %, Other 12 %".</summary>
    public static string Describe(IReadOnlyList<(string Type, double Percent)> types) =>
        string.Join(", ", types.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Type} {t.Percent:0} %")));

    /// <inheritdoc />
    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        ArgumentNullException.ThrowIfNull(eventSource);
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    /// <inheritdoc />
    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        ArgumentNullException.ThrowIfNull(eventData);
        if (!_sampling || eventData.EventId != AllocationTickEventId || eventData.PayloadNames is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || eventData.Payload?[typeIndex] is not string type)
        {
            return;
        }

        var amount = amountIndex >= 0 && eventData.Payload[amountIndex] is ulong bytes ? (long)bytes : 100_000;
        lock (_gate)
        {
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
        }
    }
}
