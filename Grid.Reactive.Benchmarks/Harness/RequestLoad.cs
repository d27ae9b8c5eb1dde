using System.Diagnostics;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>Picks the client a lane's next call goes through (one fixed client, or a random pair of a mesh).</summary>
public delegate IEchoClient ClientPicker(int lane, ref ulong random);

/// <summary>What one closed-loop run measured.</summary>
/// <param name="Ops">Calls that completed, correct, while measuring.</param>
/// <param name="Errors">Calls that failed or answered wrongly, in any phase.</param>
/// <param name="FirstError">What the first error was.</param>
/// <param name="Elapsed">The measured window.</param>
/// <param name="Latency">Latencies of the measured calls.</param>
/// <param name="AllocatedBytes">Bytes the whole process allocated during the measured window.</param>
/// <param name="WorkItems">Thread-pool work items the whole process completed during the measured window.</param>
/// <param name="Rate">Calls per second when it is not simply ops over elapsed (the median round of combined runs).</param>
public sealed record LoadResult(long Ops, long Errors, string? FirstError, TimeSpan Elapsed, LatencyHistogram Latency, long AllocatedBytes,
    long WorkItems, double? Rate = null)
{
    /// <summary>CPU time and context switches of the whole process during the measured window.</summary>
    public ProcessUsage Usage { get; init; }

    /// <summary>Transport messages and frames sent during the measured window, when the system counts them.</summary>
    public SendCount? Sends { get; init; }

    /// <summary>Thread-pool threads at the end of the measured window (the most of the combined rounds).</summary>
    public int PoolThreads { get; init; }

    /// <summary>Calls per second: for combined rounds, the median round's.</summary>
    public double PerSecond => Rate ?? Ops / Elapsed.TotalSeconds;

    /// <summary>
    /// Combines the rounds of one system: counts and latencies add up (percentiles over every call), the rate is the
    /// median round's, so one round disturbed by other work on the machine does not move it.
    /// </summary>
    public static LoadResult Combine(IReadOnlyList<LoadResult> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        var latency = new LatencyHistogram();
        foreach (var round in rounds)
        {
            latency.Add(round.Latency);
        }

        return new LoadResult(rounds.Sum(r => r.Ops), rounds.Sum(r => r.Errors), rounds.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            TimeSpan.FromTicks(rounds.Sum(r => r.Elapsed.Ticks)), latency, rounds.Sum(r => r.AllocatedBytes), rounds.Sum(r => r.WorkItems), Median(rounds.Select(r => r.PerSecond)))
        {
            Usage = rounds.Aggregate(default(ProcessUsage), (sum, r) => ProcessUsage.Add(sum, r.Usage)),
            Sends = rounds.All(r => r.Sends is not null)
                ? new SendCount(rounds.Sum(r => r.Sends!.Value.Messages), rounds.Sum(r => r.Sends!.Value.Frames))
                : null,
            PoolThreads = rounds.Count == 0 ? 0 : rounds.Max(r => r.PoolThreads),
        };
    }

    /// <summary>Process CPU time (user + kernel) per measured call, in microseconds.</summary>
    public double CpuMicrosPerOp => Ops == 0 ? double.NaN : Usage.Cpu.TotalMicroseconds / Ops;

    /// <summary>Kernel CPU time per measured call, in microseconds (system calls, the loopback TCP stack).</summary>
    public double KernelMicrosPerOp => Ops == 0 ? double.NaN : Usage.Kernel.TotalMicroseconds / Ops;

    /// <summary>Context switches of the whole process per measured call; NaN where not known.</summary>
    public double ContextSwitchesPerOp => Ops == 0 || Usage.ContextSwitches < 0 ? double.NaN : (double)Usage.ContextSwitches / Ops;

    /// <summary>Transport messages (WebSocket sends, both ways) per measured call; NaN when the system does not count them.</summary>
    public double SendsPerOp => Ops == 0 || Sends is not { } sends ? double.NaN : (double)sends.Messages / Ops;

    /// <summary>Frames per transport message: how many calls' frames one send carried on average; NaN when not counted.</summary>
    public double FramesPerSend => Sends is not { Messages: > 0 } sends ? double.NaN : (double)sends.Frames / sends.Messages;

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Bytes allocated per measured call.</summary>
    public double AllocatedPerOp => Ops == 0 ? double.NaN : (double)AllocatedBytes / Ops;

    /// <summary>
    /// Thread-pool work items completed per measured call: both sides of the call are in this process, so this is every
    /// hop to the pool a round trip costs (socket completions, continuations, queued writes), plus the little the
    /// harness and background timers add to the window.
    /// </summary>
    public double WorkItemsPerOp => Ops == 0 ? double.NaN : (double)WorkItems / Ops;
}

/// <summary>
/// Drives single requests as a closed loop: <c>lanes</c> workers each make one call at a time, back to back, for a
/// warm-up and then a measured window. Each call's latency goes into the worker's own preallocated histogram, and
/// every answer is checked (<see cref="Payloads.IsEcho"/>). Over the measured window it also reads the process's
/// allocated bytes and <see cref="ThreadPool.CompletedWorkItemCount"/>.
/// </summary>
public static class RequestLoad
{
    private const int MaxErrorsPerLane = 1000;

    /// <summary>Runs the load and returns what the measured window saw.</summary>
    /// <param name="lanes">Workers, each with one call in flight.</param>
    /// <param name="payloadSize">Bytes per request.</param>
    /// <param name="pick">The client of each call.</param>
    /// <param name="durations">Warm-up and measured window.</param>
    /// <param name="sends">Reads the system's send counters, or null when it has none.</param>
    public static async Task<LoadResult> RunAsync(int lanes, int payloadSize, ClientPicker pick, Durations durations, Func<SendCount?>? sends = null)
    {
        ArgumentNullException.ThrowIfNull(pick);
        ArgumentNullException.ThrowIfNull(durations);
        var phase = new PhaseFlag();
        var stats = new LaneStats[lanes];
        for (var i = 0; i < lanes; i++)
        {
            stats[i] = new LaneStats(Payloads.Create(payloadSize, i));
        }

        var warm = new WarmLanes(lanes);
        var workers = new Task[lanes];
        for (var i = 0; i < lanes; i++)
        {
            var lane = i;
            workers[i] = Task.Run(() => WorkerAsync(lane, stats[lane], pick, phase, warm));
        }

        // Measure only once every lane has had its first answer (connections made, code jitted), however long a loaded
        // machine takes for that, up to a bound: a short warm-up alone once left a slow system's window empty.
        await Task.Delay(durations.WarmUp);
        await Task.WhenAny(warm.AllAnswered, Task.Delay(WarmUpBound));
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var sendsBefore = sends?.Invoke();
        var usageBefore = ProcessUsage.Now();
        var workItemsBefore = ThreadPool.CompletedWorkItemCount;
        var start = Stopwatch.GetTimestamp();
        phase.Set(Phase.Measure);
        await Task.Delay(durations.Measure);
        phase.Set(Phase.Stop);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var workItems = ThreadPool.CompletedWorkItemCount - workItemsBefore;
        var usage = ProcessUsage.Between(usageBefore, ProcessUsage.Now());
        var sendsAfter = sends?.Invoke();
        var poolThreads = ThreadPool.ThreadCount;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        var all = Task.WhenAll(workers);
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30)));
        var latency = new LatencyHistogram();
        long ops = 0, errors = 0;
        string? firstError = null;
        foreach (var lane in stats)
        {
            latency.Add(lane.Latency);
            ops += lane.Ops;
            errors += lane.Errors;
            firstError ??= lane.FirstError;
        }

        if (!all.IsCompleted)
        {
            errors++;
            firstError ??= "calls were still in flight 30 s after the run stopped";
        }

        return new LoadResult(ops, errors, firstError, elapsed, latency, allocated, workItems)
        {
            Usage = usage,
            Sends = sendsBefore is { } b && sendsAfter is { } a ? SendCount.Between(b, a) : null,
            PoolThreads = poolThreads,
        };
    }

    private static readonly TimeSpan WarmUpBound = TimeSpan.FromSeconds(30);

    private static async Task WorkerAsync(int lane, LaneStats stats, ClientPicker pick, PhaseFlag phase, WarmLanes warm)
    {
        var payload = stats.Payload;
        var random = (ulong)(lane + 1) * 0x9E3779B97F4A7C15UL;
        long sequence = 0;
        while (!phase.Stopping)
        {
            sequence++;
            Payloads.Stamp(payload, sequence);
            var client = pick(lane, ref random);
            var start = Stopwatch.GetTimestamp();
            try
            {
                var answer = await client.EchoAsync(lane, payload);
                var end = Stopwatch.GetTimestamp();
                if (!Payloads.IsEcho(answer.Span, payload, sequence))
                {
                    stats.Fail($"lane {lane} call {sequence}: wrong answer ({answer.Length} bytes, sequence {Payloads.SequenceOf(answer.Span)})");
                }
                else if (phase.Measuring)
                {
                    stats.Ops++;
                    stats.Latency.RecordTicks(start, end);
                }
            }
            catch (Exception ex)
            {
                stats.Fail($"lane {lane} call {sequence}: {ex.GetType().Name}: {ex.Message}");
            }

            if (sequence == 1)
            {
                warm.Answered();
            }

            if (stats.Errors >= MaxErrorsPerLane)
            {
                return;
            }
        }
    }

    /// <summary>Completes when every lane's first call has ended, answered or failed.</summary>
    private sealed class WarmLanes(int lanes)
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _left = lanes;

        public Task AllAnswered => _all.Task;

        public void Answered()
        {
            if (Interlocked.Decrement(ref _left) == 0)
            {
                _all.TrySetResult();
            }
        }
    }

    private sealed class LaneStats(byte[] payload)
    {
        public byte[] Payload { get; } = payload;

        public LatencyHistogram Latency { get; } = new();

        public long Ops { get; set; }

        public long Errors { get; private set; }

        public string? FirstError { get; private set; }

        public void Fail(string error)
        {
            Errors++;
            FirstError ??= error;
        }
    }
}
