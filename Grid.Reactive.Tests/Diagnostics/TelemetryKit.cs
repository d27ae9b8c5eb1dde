using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Grid.Reactive.Tests.Diagnostics;

/// <summary>
/// A meter factory of the test's own, so its instruments see only the test's managers. Like the one of dependency
/// injection, it makes one meter per name, which every manager of the test shares.
/// </summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_meters)
        {
            if (_meters.Find(m => m.Name == options.Name) is { } existing)
            {
                return existing;
            }

            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters.Add(meter);
            return meter;
        }
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}

/// <summary>An <see cref="ILoggerFactory"/> over a <see cref="FakeLoggerProvider"/>: every category, every level.</summary>
public sealed class FakeLoggerFactory : ILoggerFactory
{
    private readonly FakeLoggerProvider _provider;

    public FakeLoggerFactory()
    {
        Collector = new FakeLogCollector();
        _provider = new FakeLoggerProvider(Collector);
    }

    public FakeLogCollector Collector { get; }

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => _provider.CreateLogger(categoryName);

    public void Dispose() => _provider.Dispose();

    public IReadOnlyList<FakeLogRecord> Records(int eventId) => [.. Collector.GetSnapshot().Where(r => r.Id.Id == eventId)];
}

/// <summary>Records the activities of the given sources that stop, sampling them all (or as a parent-based sampler would).</summary>
public sealed class ActivityRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly List<Activity> _stopped = [];
    private readonly List<Activity> _started = [];

    public ActivityRecorder(bool parentBased, params string[] sources)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                !parentBased || options.Parent == default || (options.Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.None,
            ActivityStarted = activity =>
            {
                lock (_started)
                {
                    _started.Add(activity);
                }
            },
            ActivityStopped = activity =>
            {
                lock (_stopped)
                {
                    _stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public Activity[] Stopped()
    {
        lock (_stopped)
        {
            return [.. _stopped];
        }
    }

    public Activity[] Started()
    {
        lock (_started)
        {
            return [.. _started];
        }
    }

    public void Dispose() => _listener.Dispose();
}
