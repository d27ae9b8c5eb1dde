using System.Diagnostics;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>What one stream run measured.</summary>
/// <param name="Messages">Messages the client received, correct, while measuring.</param>
/// <param name="Produced">Messages the server produced while measuring.</param>
/// <param name="Elapsed">The measured window.</param>
/// <param name="AllocatedBytes">Bytes the whole process allocated while measuring.</param>
/// <param name="PeakMb">Peak managed heap while measuring (when sampled).</param>
/// <param name="GrowthMb">Heap growth over the window (when sampled): last third's peak minus first third's.</param>
public sealed record StreamResult(long Messages, long Produced, TimeSpan Elapsed, long AllocatedBytes, double PeakMb, double GrowthMb)
{
    /// <summary>Messages received per second.</summary>
    public double PerSecond => Messages / Elapsed.TotalSeconds;

    /// <summary>Messages produced per second.</summary>
    public double ProducedPerSecond => Produced / Elapsed.TotalSeconds;

    /// <summary>Bytes allocated per message received.</summary>
    public double AllocatedPerMessage => Messages == 0 ? double.NaN : (double)AllocatedBytes / Messages;
}

/// <summary>What the stream scenarios share: starting a stream system and running one checked stream.</summary>
public static class StreamRuns
{
    /// <summary>Starts a stream system: null (with the reason recorded) when it is not available or fails to start.</summary>
    public static async Task<IStreamTarget?> StartAsync(BenchContext context, string scenario, IStreamSystem system,
        IEnumerable<string> parameters, IEnumerable<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(system);
        if (system.NotAvailable is { } reason)
        {
            context.Progress($"{scenario} {system.Name}: n/a ({reason})");
            foreach (var param in parameters)
            {
                context.Results.NotAvailable(scenario, system.Name, param, metrics, reason);
            }

            return null;
        }

        try
        {
            return await system.StartAsync(BenchContext.StartTimeout);
        }
        catch (Exception ex)
        {
            var error = $"could not start: {ex.GetType().Name}: {ex.Message}";
            context.Progress($"{scenario} {system.Name}: {error}");
            foreach (var param in parameters)
            {
                context.Results.Failed(scenario, system.Name, param, metrics, error);
            }

            return null;
        }
    }

    /// <summary>
    /// Runs one stream (<paramref name="body"/> opens it and feeds the sink until its token is cancelled) for a warm-up
    /// and a measured window, and checks it: any bad message, an early end, or no message at all is recorded as a
    /// failure and yields null.
    /// </summary>
    public static async Task<StreamResult?> RunCheckedAsync(BenchContext context, string scenario, string system, string param,
        IStreamTarget target, Func<StreamSink, CancellationToken, Task> body, int size, Durations durations,
        IEnumerable<string> metrics, double? paceMessagesPerSecond = null, bool sampleMemory = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(durations);
        context.Progress($"{scenario} {system} {param}: {durations} ...");
        var phase = new PhaseFlag();
        var sink = new StreamSink(size, phase, paceMessagesPerSecond);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => body(sink, stop.Token), CancellationToken.None);
        await Task.WhenAny(running, Task.Delay(durations.WarmUp));

        var sampler = sampleMemory ? MemorySampler.Start() : null;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var producedBefore = target.Produced;
        var start = Stopwatch.GetTimestamp();
        phase.Set(Phase.Measure);
        await Task.WhenAny(running, Task.Delay(durations.Measure));
        phase.Set(Phase.Stop);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var produced = target.Produced - producedBefore;
        if (sampler is not null)
        {
            await sampler.DisposeAsync();
        }

        var endedEarly = running.IsCompleted;
        await stop.CancelAsync();
        try
        {
            await running.WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (Exception ex)
        {
            sink.Fail(ex);
        }

        if (endedEarly && sink.Errors == 0)
        {
            sink.Fail(new InvalidOperationException("the stream ended before the run did"));
        }

        if (sink.Errors > 0 || sink.Measured == 0)
        {
            var why = sink.Errors > 0 ? $"{sink.Errors} errors, first: {sink.FirstError}" : "no message arrived";
            context.Progress($"{scenario} {system} {param}: FAILED: {why}");
            context.Results.Failed(scenario, system, param, metrics, why);
            return null;
        }

        var result = new StreamResult(sink.Measured, produced, elapsed, allocated, sampler?.PeakMb ?? double.NaN, sampler?.GrowthMb ?? double.NaN);
        context.Progress($"{scenario} {system} {param}: {BenchContext.F(result.PerSecond)} msgs/s, {BenchContext.F(result.PerSecond * size / StreamScenario.Megabyte)} MB/s, {BenchContext.F(result.AllocatedPerMessage)} B/msg");
        return result;
    }

    /// <summary>Stops a stream target; a failure to stop is reported, not thrown.</summary>
    public static async Task StopAsync(BenchContext context, IStreamTarget target, string system)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            await target.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception ex)
        {
            context.Progress($"{system}: stopping failed: {ex.GetType().Name}: {ex.Message}");
        }
    }
}
