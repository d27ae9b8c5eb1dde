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
/// <param name="Rate">Messages per second when it is not simply messages over elapsed (the median round of combined runs).</param>
public sealed record StreamResult(long Messages, long Produced, TimeSpan Elapsed, long AllocatedBytes, double PeakMb, double GrowthMb, double? Rate = null)
{
    /// <summary>Messages received per second: for combined rounds, the median round's.</summary>
    public double PerSecond => Rate ?? Messages / Elapsed.TotalSeconds;

    /// <summary>Combines the rounds of one system: counts add up, the rate is the median round's.</summary>
    public static StreamResult Combine(IReadOnlyList<StreamResult> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        return new StreamResult(rounds.Sum(r => r.Messages), rounds.Sum(r => r.Produced), TimeSpan.FromTicks(rounds.Sum(r => r.Elapsed.Ticks)),
            rounds.Sum(r => r.AllocatedBytes), rounds.Max(r => r.PeakMb), rounds.Max(r => r.GrowthMb), LoadResult.Median(rounds.Select(r => r.PerSecond)));
    }

    /// <summary>Messages produced per second.</summary>
    public double ProducedPerSecond => Produced / Elapsed.TotalSeconds;

    /// <summary>Bytes allocated per message received.</summary>
    public double AllocatedPerMessage => Messages == 0 ? double.NaN : (double)AllocatedBytes / Messages;
}

/// <summary>One system's stream for a parameter: its name, its running target, and how to open the stream.</summary>
public sealed record StreamEntry(string System, IStreamTarget Target, Func<StreamSink, CancellationToken, Task> Body);

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
    /// Runs the streams of several systems for one parameter, in turns round by round (see <see cref="Durations"/>),
    /// and returns each system's combined result. A system that fails a round is recorded as failed and left out.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, StreamResult>> RunRoundsAsync(BenchContext context, string scenario, string param,
        IReadOnlyList<StreamEntry> entries, int size, IEnumerable<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(entries);
        var durations = context.Options.Streams;
        var rounds = entries.ToDictionary(e => e.System, _ => new List<StreamResult>());
        for (var round = 1; round <= durations.Rounds; round++)
        {
            var label = durations.Rounds == 1 ? "" : $" round {round}/{durations.Rounds}";
            foreach (var entry in entries.Where(e => rounds.ContainsKey(e.System)))
            {
                var result = await RunCheckedAsync(context, scenario, entry.System, param, entry.Target, entry.Body, size, durations, metrics, label: param + label);
                if (result is null)
                {
                    rounds.Remove(entry.System);
                }
                else
                {
                    rounds[entry.System].Add(result);
                }
            }
        }

        return rounds.ToDictionary(r => r.Key, r => StreamResult.Combine(r.Value));
    }

    /// <summary>
    /// Runs one stream (<paramref name="body"/> opens it and feeds the sink until its token is cancelled) for a warm-up
    /// and a measured window, and checks it: any bad message, an early end, or no message at all is recorded as a
    /// failure and yields null.
    /// </summary>
    public static async Task<StreamResult?> RunCheckedAsync(BenchContext context, string scenario, string system, string param,
        IStreamTarget target, Func<StreamSink, CancellationToken, Task> body, int size, Durations durations,
        IEnumerable<string> metrics, double? paceMessagesPerSecond = null, bool sampleMemory = false, string? label = null)
    {
        label ??= param;
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(durations);
        context.Progress($"{scenario} {system} {label}: {durations} ...");
        if (sampleMemory)
        {
            // Start from a collected heap, so the garbage an earlier system left (a buffering one leaves hundreds of
            // MB) does not count in this one's peak.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

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
            context.Progress($"{scenario} {system} {label}: FAILED: {why}");
            context.Results.Failed(scenario, system, param, metrics, why);
            return null;
        }

        var result = new StreamResult(sink.Measured, produced, elapsed, allocated, sampler?.PeakMb ?? double.NaN, sampler?.GrowthMb ?? double.NaN);
        context.Progress($"{scenario} {system} {label}: {BenchContext.F(result.PerSecond)} msgs/s, {BenchContext.F(result.PerSecond * size / StreamScenario.Megabyte)} MB/s, {BenchContext.F(result.AllocatedPerMessage)} B/msg");
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
