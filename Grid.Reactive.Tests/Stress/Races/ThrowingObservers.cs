// Shared, byte for byte, by Grid.Reactive.Tests/Stress/Races and Grid.Reactive.Benchmarks/Stress/Races.
using System.Globalization;
using System.Reactive.Linq;
using System.Text;

namespace Grid.Reactive.Stress;

/// <summary>
/// Race 4, throwing observers under load: thousands of calls from several threads at once, both ways, where one in
/// eight observers throws in OnNext, one in eight throws in OnError, one in eight is an Rx <c>Subscribe(onNext)</c>
/// without an error handler (Rx then throws from OnError), among ordinary answers and errors.
/// </summary>
/// <remarks>
/// Invariants: every other call gets its own answer (or its <see cref="RemoteException"/>) exactly once; an observer
/// that threw gets nothing more; each throw is logged once; the connections stay Connected throughout (no state
/// change at all); afterwards neither node holds a call.
/// </remarks>
internal static class ThrowingObservers
{
    public static readonly HandlerId Echo = new(0x5706);
    public static readonly HandlerId Fail = new(0x5707);

    /// <param name="transport">In memory or real WebSockets.</param>
    /// <param name="calls">Calls in all, split over <paramref name="threads"/>.</param>
    /// <param name="threads">Threads calling at once, alternately each way.</param>
    public static Task<StressResult> RunAsync(StressTransport transport, int calls, int threads = 4)
    {
        var result = new StressResult($"throwing-observers/{transport.ToString().ToLowerInvariant()}");
        return RaceKit.Timed(result, async () =>
        {
            await using var grid = await StressGrid.StartAsync(transport, node =>
            {
                node.Register(Echo, (payload, _) => ValueTask.FromResult(payload));
                node.Register(Fail, (payload, _) => throw new InvalidOperationException("refused " + Encoding.UTF8.GetString(payload)));
            });

            // Any state after the replayed Connected is a violation: throwing observers must not touch the connection.
            var watches = grid.Nodes.SelectMany(n => n.Connections).Select(c => c.Skip(1).Subscribe(
                state => result.Violation($"violation: {c.LocalAddress} -> {c.RemoteAddress} went {state}: {c.LastError?.Message}"))).ToList();

            var answers = new List<CallRecord>[threads];
            var failures = new List<CallRecord>[threads];
            var thrown = new long[threads];
            long onNextWithoutHandler = 0;
            await RaceKit.Threads(threads, thread =>
            {
                answers[thread] = [];
                failures[thread] = [];
                var connection = grid.From(thread % 2, 1 - (thread % 2));
                var outstanding = new Queue<CallRecord>();
                for (var i = thread; i < calls; i += threads)
                {
                    var id = string.Create(CultureInfo.InvariantCulture, $"t{thread}-{i}");
                    var payload = Encoding.UTF8.GetBytes(id);
                    CallRecord? record = null;
                    switch (i % 8)
                    {
                        case 0:
                            record = new CallRecord(id, throwInOnNext: true);
                            answers[thread].Add(record);
                            thrown[thread]++;
                            connection.Request(Echo, payload).Subscribe(record);
                            break;
                        case 1:
                            record = new CallRecord(id, throwInOnError: true);
                            failures[thread].Add(record);
                            thrown[thread]++;
                            connection.Request(Fail, payload).Subscribe(record);
                            break;
                        case 2:
                            // Rx's Subscribe(onNext) throws the error from OnError: the user's throw, caught and logged.
                            thrown[thread]++;
                            connection.Request(Fail, payload).Subscribe(_ => Interlocked.Increment(ref onNextWithoutHandler));
                            break;
                        case 3:
                            record = new CallRecord(id);
                            failures[thread].Add(record);
                            connection.Request(Fail, payload).Subscribe(record);
                            break;
                        default:
                            record = new CallRecord(id);
                            answers[thread].Add(record);
                            connection.Request(Echo, payload).Subscribe(record);
                            break;
                    }

                    if (record is not null)
                    {
                        outstanding.Enqueue(record);
                    }

                    while (outstanding.Count > 0 && outstanding.Peek().Settled)
                    {
                        outstanding.Dequeue();
                    }

                    if (outstanding.Count >= 128 && !RaceKit.Until(() => outstanding.Peek().Settled))
                    {
                        result.Violation("violation: a call hung: " + outstanding.Peek().Check(static e => e is RemoteException));
                        return;
                    }
                }
            });

            var all = answers.SelectMany(a => a).Concat(failures.SelectMany(f => f)).ToList();
            if (!await RaceKit.UntilAsync(() => all.All(r => r.Settled)))
            {
                foreach (var record in all.Where(r => !r.Settled).Take(5))
                {
                    result.Violation("violation: a call hung: " + record.Check(static e => e is RemoteException));
                }
            }

            RaceKit.Tally(result, answers.SelectMany(a => a), static _ => false);
            RaceKit.Tally(result, failures.SelectMany(f => f), static e => e is RemoteException);
            if (Interlocked.Read(ref onNextWithoutHandler) != 0)
            {
                result.Violation($"violation: {onNextWithoutHandler} calls to a failing handler got an answer");
            }

            // Every throw is logged, once; the Rx subscriptions' throws come last, so wait for the count.
            var expected = thrown.Sum();
            await RaceKit.UntilAsync(() => grid.Log.UserCallbackFailures >= expected);
            if (grid.Log.UserCallbackFailures != expected)
            {
                result.Violation($"violation: {grid.Log.UserCallbackFailures} user callback failures logged for {expected} observers that threw");
            }

            if (!await RaceKit.UntilAsync(() => grid.PendingCalls() == 0))
            {
                result.Violation($"violation: calls left behind: {grid.PendingCalls()} still pending after every call ended");
            }

            foreach (var connection in grid.Nodes.SelectMany(n => n.Connections).Where(c => c.State != ConnectionState.Connected))
            {
                result.Violation($"violation: {connection} after the load");
            }

            watches.ForEach(w => w.Dispose());
            result.Iterated(calls);
            grid.ReportLog(result);
        });
    }
}
