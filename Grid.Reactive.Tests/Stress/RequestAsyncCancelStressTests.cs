using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>
/// <see cref="Connection.RequestAsync"/>'s token cancelled on one thread exactly while the answer arrives on another:
/// the task must end once, with the answer or cancelled (never faulted, never hung), and the grid must hold no call
/// afterwards, whichever wins.
/// </summary>
[Category("Stress")]
public sealed class RequestAsyncCancelStressTests
{
    private static readonly HandlerId Gated = new(0x5710);

    // The cancel waits up to about the answer's trip (longer over a socket), so both outcomes occur.
    [TestCase(StressTransport.InMemory, 1_000, 40_000)]
    [TestCase(StressTransport.WebSocket, 1_000, 60_000)]
    public async Task CancelRacingTheAnswer_EndsTheTaskOnce_AnsweredOrCancelled_AndLeavesNothingBehind(StressTransport transport, int iterations, int maxCancelDelay)
    {
        var result = new StressResult($"request-async-cancel-vs-answer/{transport.ToString().ToLowerInvariant()}");
        await RaceKit.Timed(result, async () =>
        {
            using var answers = new BlockingCollection<(TaskCompletionSource<byte[]> Answer, byte[] Payload)>();
            await using var grid = await StressGrid.StartAsync(transport, node => node.Register(Gated, (payload, _) =>
            {
                var answer = new TaskCompletionSource<byte[]>();
                answers.Add((answer, payload), CancellationToken.None);
                return new ValueTask<byte[]>(answer.Task);
            }));
            var connection = grid.From(0, 1);
            using var barrier = new Barrier(2);
            var current = new StrongBox<(TaskCompletionSource<byte[]> Answer, byte[] Payload, int Spin)>();
            using var stop = new CancellationTokenSource();

            await RaceKit.Threads(2, thread =>
            {
                try
                {
                    var random = new Random(thread + 1);
                    for (var i = 0; i < iterations && !stop.IsCancellationRequested; i++)
                    {
                        if (thread == 1)
                        {
                            barrier.SignalAndWait(stop.Token);
                            var (answer, answerPayload, answerSpin) = current.Value;
                            Thread.SpinWait(answerSpin);
                            answer.SetResult(answerPayload);
                            barrier.SignalAndWait(stop.Token); // answered: the driver may go on
                            continue;
                        }

                        var payload = Encoding.UTF8.GetBytes("r" + i);
                        using var cancellation = new CancellationTokenSource();
                        var call = connection.RequestAsync(Gated, payload, StressGrid.Guard, cancellationToken: cancellation.Token);
                        if (!answers.TryTake(out var served, StressGrid.Guard))
                        {
                            result.Violation($"violation: call {i} never reached its handler ({call.Status})");
                            return;
                        }

                        // Either side may go first, by a few to some thousand spins.
                        var spin = random.Next(-3_000, maxCancelDelay);
                        current.Value = (served.Answer, served.Payload, Math.Max(0, -spin));
                        barrier.SignalAndWait(stop.Token);
                        Thread.SpinWait(Math.Max(0, spin));
                        cancellation.Cancel();

                        barrier.SignalAndWait(stop.Token);
                        if (!((IAsyncResult)call).AsyncWaitHandle.WaitOne(StressGrid.Guard))
                        {
                            result.Violation($"violation: call {i} hung after cancel and answer");
                            return;
                        }

                        switch (call.Status)
                        {
                            case TaskStatus.RanToCompletion when call.Result.AsSpan().SequenceEqual(payload):
                                result.Count("answered");
                                break;
                            case TaskStatus.Canceled:
                                result.Count("cancelled");
                                break;
                            default:
                                result.Violation($"violation: call {i} ended {call.Status}: {call.Exception?.InnerException?.Message}");
                                break;
                        }

                        if (!RaceKit.Until(() => grid.PendingCalls() == 0))
                        {
                            result.Violation($"violation: {grid.PendingCalls()} calls still pending after call {i}");
                            return;
                        }

                        result.Iterated();
                    }
                }
                catch (OperationCanceledException)
                {
                    // The other thread stopped early on a violation (already recorded).
                }
                finally
                {
                    stop.Cancel();
                }
            });

            grid.ReportLog(result);
        });
        StressAssert.Clean(result, iterations);
    }
}
