// Shared, byte for byte, by Grid.Reactive.Tests/Stress/Races and Grid.Reactive.Benchmarks/Stress/Races.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;

namespace Grid.Reactive.Stress;

/// <summary>
/// Race 1, cancel against answer: a request's subscription is disposed on one thread exactly while its answer is
/// on its way on another. The handler's answer and the Dispose are released together by a barrier; then one of the two
/// threads spins a jitter that adapts to land the Dispose around the moment the answer reaches the caller (the
/// disposer waits longer after each "disposed first", the answerer longer after each "answered"), so the iterations
/// crowd into the window where the two meet.
/// </summary>
/// <remarks>
/// Invariants, per call: the observer gets nothing (disposed first), or the answer and OnCompleted, or (only when
/// Dispose returned while OnNext ran) just the answer; never an error, never two endings, never a notification that
/// begins after Dispose returned. Between iterations the grid holds no call on either node.
/// </remarks>
internal static class CancelAgainstAnswer
{
    public static readonly HandlerId Gated = new(0x5701);

    /// <param name="transport">In memory or real WebSockets.</param>
    /// <param name="iterations">Calls raced, one at a time.</param>
    /// <param name="workInOnNext">Spin iterations in the observer's OnNext: a wider window between OnNext and OnCompleted.</param>
    /// <param name="seed">Seeds the jitter.</param>
    public static Task<StressResult> RunAsync(StressTransport transport, int iterations, int workInOnNext = 0, int seed = 1)
    {
        var result = new StressResult($"cancel-vs-answer/{transport.ToString().ToLowerInvariant()}" + (workInOnNext > 0 ? "/working-observer" : ""));
        return RaceKit.Timed(result, async () =>
        {
            using var answers = new BlockingCollection<(TaskCompletionSource<byte[]> Answer, byte[] Payload)>();
            await using var grid = await StressGrid.StartAsync(transport, node => node.Register(Gated, (payload, _) =>
            {
                // Completed by the answering thread, inline: the answer starts on its way the moment the barrier opens.
                var answer = new TaskCompletionSource<byte[]>();
                answers.Add((answer, payload), CancellationToken.None);
                return new ValueTask<byte[]>(answer.Task);
            }));

            using var barrier = new Barrier(2);
            var answerDelay = new StrongBox<int>();
            using var stop = new CancellationTokenSource();
            var records = new List<CallRecord>(iterations);
            await RaceKit.Threads(2, thread =>
            {
                try
                {
                    if (thread == 0)
                    {
                        Drive(grid, barrier, answerDelay, records, iterations, workInOnNext, seed, result);
                    }
                    else
                    {
                        Answer(answers, barrier, answerDelay, iterations, result, stop.Token);
                    }
                }
                catch (OperationCanceledException)
                {
                    // The driver stopped early on a violation (already recorded).
                }
                finally
                {
                    stop.Cancel();
                }
            });

            foreach (var record in records)
            {
                var outcome = record.Check(static _ => false);
                if (outcome.StartsWith("violation", StringComparison.Ordinal))
                {
                    result.Violation(outcome);
                }
                else
                {
                    result.Count(outcome);
                }
            }

            if (grid.From(0, 1).State != ConnectionState.Connected)
            {
                result.Violation($"violation: the connection ended up {grid.From(0, 1).State}: {grid.From(0, 1).LastError}");
            }

            grid.ReportLog(result);
        });
    }

    private static void Drive(StressGrid grid, Barrier barrier, StrongBox<int> answerDelay, List<CallRecord> records, int iterations, int workInOnNext, int seed, StressResult result)
    {
        var connection = grid.From(0, 1);
        var random = new Random(seed);
        var target = 0.0;
        for (var i = 0; i < iterations; i++)
        {
            var payload = "c" + i;
            var record = new CallRecord(payload, workInOnNext: workInOnNext);
            records.Add(record);
            var subscription = connection.Request(Gated, Encoding.UTF8.GetBytes(payload), StressGrid.Guard).Subscribe(record);

            // Positive: the disposer waits this long after the barrier; negative: the answerer does (the barrier publishes it).
            var spread = 2 + (Math.Abs(target) / 4);
            var delay = (int)(target + ((random.NextDouble() * 2) - 1) * spread);
            answerDelay.Value = Math.Max(0, -delay);
            if (!barrier.SignalAndWait(StressGrid.Guard))
            {
                result.Violation($"violation: call {payload} never reached its handler: {record.Check(static _ => false)}");
                return;
            }

            Thread.SpinWait(Math.Max(0, delay));
            record.DisposeBegins();
            subscription.Dispose();
            record.DisposeReturned();
            if (!RaceKit.Until(() => record.Settled && grid.PendingCalls() == 0))
            {
                result.Violation($"violation: call {payload} hung: {grid.PendingCalls()} calls still pending, {record.Check(static _ => false)}");
                return;
            }

            // Aim at the boundary: after "disposed first" dispose later, after "answered" sooner.
            // The boundary lies within some thousand spins; a run of one outcome must not carry the aim far beyond it.
            var step = 1 + (Math.Abs(target) / 32);
            target = Math.Clamp(record.Started ? target - step : target + step, -20_000, 20_000);
            result.Iterated();
        }
    }

    private static void Answer(BlockingCollection<(TaskCompletionSource<byte[]> Answer, byte[] Payload)> answers, Barrier barrier,
        StrongBox<int> delay, int iterations, StressResult result, CancellationToken stop)
    {
        for (var i = 0; i < iterations; i++)
        {
            if (!answers.TryTake(out var call, (int)StressGrid.Guard.TotalMilliseconds, stop))
            {
                result.Violation($"violation: no request reached the handler in iteration {i}");
                return;
            }

            if (!barrier.SignalAndWait(StressGrid.Guard, stop))
            {
                return;
            }

            Thread.SpinWait(delay.Value);
            call.Answer.SetResult(call.Payload);
        }
    }
}
