using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Grid.Reactive.Benchmarks.GridSystem;

namespace Grid.Reactive.Benchmarks.Micro;

/// <summary>
/// The in-memory request round trip of <see cref="InMemoryRequestBenchmarks"/> while someone listens: every
/// instrument of the Grid.Reactive meter enabled (measurements dropped) and every span of the Grid.Reactive source
/// sampled, as under OpenTelemetry with the grid's meter and source added. The price of observing a call.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet's GlobalCleanup disposes the listeners.")]
public class ObservedRequestBenchmarks
{
    private readonly InMemoryRequestBenchmarks _inner = new();
    private MeterListener? _meters;
    private ActivityListener? _spans;

    /// <summary>Starts the listeners, then two connected managers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GridDiagnostics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
        _meters.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
        _meters.SetMeasurementEventCallback<int>(static (_, _, _, _) => { });
        _meters.Start();
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == GridDiagnostics.ActivitySourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_spans);
        _inner.Setup();
    }

    /// <summary>Stops the managers and the listeners.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _inner.Cleanup();
        _spans?.Dispose();
        _meters?.Dispose();
    }

    /// <summary><c>await connection.Request(...)</c> with metrics and traces on.</summary>
    [Benchmark]
    public Task<int> RequestAwaitObserved() => _inner.RequestAwait();
}
