// Shared, byte for byte, by Grid.Reactive.Tests/Stress/Races and Grid.Reactive.Benchmarks/Stress/Races.
using System.Reactive.Concurrency;
using System.Text;

namespace Grid.Reactive.Stress;

/// <summary>
/// Race 2, deadline against answer: calls with a 1 ms deadline to handlers that answer at about that moment. Each
/// handler answers after a delay drawn around the deadline, on a timer of the same default scheduler the caller's
/// deadline runs on (so both often fire in one tick of the timer queue), or at once, or exactly when its own
/// token fires (the remote's copy of the deadline); calls go out in waves, from several threads at once.
/// </summary>
/// <remarks>
/// Invariants, per call: exactly one ending, the answer with OnCompleted or a <see cref="DeadlineExceededException"/>,
/// never both, never another error; every call ends; afterwards neither node holds a call, and the connection is
/// still Connected.
/// </remarks>
internal static class DeadlineAgainstAnswer
{
    public static readonly HandlerId Timed = new(0x5702);

    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(1);

    /// <param name="transport">In memory or real WebSockets.</param>
    /// <param name="calls">Calls in all.</param>
    /// <param name="wave">Calls in flight at once, split over <paramref name="threads"/> threads.</param>
    /// <param name="threads">Threads issuing each wave.</param>
    public static Task<StressResult> RunAsync(StressTransport transport, int calls, int wave = 64, int threads = 2)
    {
        var result = new StressResult($"deadline-vs-answer/{transport.ToString().ToLowerInvariant()}");
        return RaceKit.Timed(result, async () =>
        {
            await using var grid = await StressGrid.StartAsync(transport, node => node.Register(Timed, Serve));
            var connection = grid.From(0, 1);
            for (var sent = 0; sent < calls; sent += wave)
            {
                var size = Math.Min(wave, calls - sent);
                var records = new CallRecord[size];
                var first = sent;
                await RaceKit.Threads(threads, thread =>
                {
                    for (var i = thread; i < size; i += threads)
                    {
                        // The first byte picks the handler's timing; the rest makes the answer unique to its call.
                        var id = first + i;
                        var payload = (char)('a' + (id % Timings)) + id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                        records[i] = new CallRecord(payload);
                        connection.Request(Timed, Encoding.UTF8.GetBytes(payload), Deadline).Subscribe(records[i]);
                    }
                });

                if (!await RaceKit.EndedAsync(records))
                {
                    foreach (var record in records.Where(r => !r.Ended.IsCompleted))
                    {
                        result.Violation("violation: a call never ended: " + record.Check(static _ => false));
                    }

                    return;
                }

                foreach (var record in records)
                {
                    var outcome = record.Check(static e => e is DeadlineExceededException);
                    if (outcome.StartsWith("violation", StringComparison.Ordinal))
                    {
                        result.Violation(outcome);
                    }
                    else
                    {
                        result.Count(outcome);
                    }

                    result.Iterated();
                }
            }

            // The remote forgets a timed-out call at its own deadline, and a late answer is dropped on either side.
            if (!await RaceKit.UntilAsync(() => grid.PendingCalls() == 0))
            {
                result.Violation($"violation: calls left behind: {grid.PendingCalls()} still pending after every call ended");
            }

            if (connection.State != ConnectionState.Connected)
            {
                result.Violation($"violation: the connection ended up {connection.State}: {connection.LastError}");
            }

            grid.ReportLog(result);
        });
    }

    private const int Timings = 8;

    // a: at once; b: on its token (the remote's deadline); c..h: on a timer at 0.25 .. 2.5 ms.
    private static ValueTask<byte[]> Serve(byte[] payload, CancellationToken cancellationToken)
    {
        var timing = payload[0] - 'a';
        if (timing == 0)
        {
            return ValueTask.FromResult(payload);
        }

        var answer = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (timing == 1)
        {
            cancellationToken.Register(() => answer.TrySetResult(payload));
        }
        else
        {
            var delay = TimeSpan.FromMilliseconds(0.25 + (0.45 * (timing - 2)));
            DefaultScheduler.Instance.Schedule(delay, () => answer.TrySetResult(payload));
        }

        return new ValueTask<byte[]>(answer.Task);
    }
}
