// Shared, byte for byte, by Grid.Reactive.Tests/Stress/Races and Grid.Reactive.Benchmarks/Stress/Races.
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Grid.Reactive.Stress;

/// <summary>
/// Race 3, the end of a connection against calls in flight: links reset under load (<see cref="LinkAbortAgainstCallsAsync"/>),
/// managers disposed while both sides call each other (<see cref="DisposeAgainstCallsAsync"/>), and managers disposed
/// while they start, dial and accept (<see cref="DisposeAgainstStartAsync"/>).
/// </summary>
/// <remarks>
/// Invariants: every call ends exactly once, with its answer or a <see cref="DisconnectedException"/>, or with nothing
/// only if its subscription was disposed; no call hangs (a 30 s guard turns a hang into a violation); every handler
/// whose call was lost sees its token fire; no exception escapes to the process or out of Subscribe; nothing is left
/// in the tables, no link is left open and no address is left listened on once the managers are disposed.
/// </remarks>
internal static class ConnectionLoss
{
    public static readonly HandlerId Echo = new(0x5703);
    public static readonly HandlerId Yielding = new(0x5704);
    public static readonly HandlerId Slow = new(0x5705);

    /// <summary>The kind of violation of a manager whose listener outlived its DisposeAsync.</summary>
    public const string AddressInUse = "the address of a disposed manager is still in use";

    private static bool Lost(Exception error) => error is DisconnectedException;

    /// <summary>Counts the slow handlers that started and those whose token fired.</summary>
    private sealed class SlowHandlers
    {
        private long _started;
        private long _ended;
        private long _calling;

        /// <summary>Slow calls made and not yet ended on their handler (approximately: a call not yet arrived counts).</summary>
        public long InFlight => Interlocked.Read(ref _calling) - Ended;

        public void Calling() => Interlocked.Increment(ref _calling);

        public long Started => Interlocked.Read(ref _started);

        public long Ended => Interlocked.Read(ref _ended);

        public void Register(Manager node)
        {
            var name = node.Address;
            node.Register(Echo, (payload, _) => ValueTask.FromResult(payload));
            node.Register(Yielding, async (payload, _) =>
            {
                await Task.Yield();
                return payload;
            });

            // Never answers: ends only when its token fires (the call lost, cancelled or timed out).
            node.Register(Slow, (_, cancellationToken) =>
            {
                Interlocked.Increment(ref _started);
                var never = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
                cancellationToken.Register(() =>
                {
                    Interlocked.Increment(ref _ended);
                    never.TrySetCanceled(cancellationToken);
                });
                return new ValueTask<byte[]>(never.Task);
            });
        }
    }

    /// <summary>One call from a caller thread: mostly answered at once or after a hop, some never answered, some disposed.</summary>
    /// <remarks>Never more than 32 slow calls at once (they end only at the next loss), so callers need not wait for them.</remarks>
    private static CallRecord Call(Connection connection, Random random, string id, StressResult result, SlowHandlers slow, out bool isSlow)
    {
        var pick = random.Next(10);
        var handler = pick < 5 ? Echo : pick < 8 || slow.InFlight >= 32 ? Yielding : Slow;
        isSlow = handler == Slow;
        var record = new CallRecord(id);
        IDisposable subscription;
        try
        {
            subscription = connection.Request(handler, Encoding.UTF8.GetBytes(id), StressGrid.Guard).Subscribe(record);
        }
#pragma warning disable CA1031 // Any exception out of Subscribe is a violation, recorded.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            result.Violation("violation: Subscribe threw: " + ex);
            record.DisposeReturned();
            return record;
        }

        if (isSlow)
        {
            slow.Calling();
        }

        if (random.Next(8) == 0)
        {
            Thread.SpinWait(random.Next(2_000));
            record.DisposeBegins();
            subscription.Dispose();
            record.DisposeReturned();
        }

        return record;
    }

    /// <summary>Links reset (<see cref="InMemoryNetwork.Abort"/>) under calls from both sides, again and again.</summary>
    /// <param name="aborts">Resets, each after the callers made progress on the reconnected link.</param>
    /// <param name="callers">Threads calling (alternately each way).</param>
    public static Task<StressResult> LinkAbortAgainstCallsAsync(int aborts, int callers = 2, int seed = 3)
    {
        var result = new StressResult("abort-vs-calls/inmemory");
        var slow = new SlowHandlers();
        return RaceKit.Timed(result, async () =>
        {
            await using var grid = await StressGrid.StartAsync(StressTransport.InMemory, slow.Register, configure: FastRedial);
            var network = grid.Network!;
            var records = new ConcurrentQueue<CallRecord>();
            long issued = 0;
            var stop = 0;
            await RaceKit.Threads(callers + 1, thread =>
            {
                var random = new Random(seed + thread);
                if (thread == callers)
                {
                    try
                    {
                        for (var round = 0; round < aborts; round++)
                        {
                            // Reconnected, and some calls made on the new link: then reset it, from either side.
                            if (!RaceKit.Until(() => grid.Nodes.All(n => n.Connections.All(c => c.State == ConnectionState.Connected))))
                            {
                                result.Violation($"violation: the connection never came back after reset {round}");
                                return;
                            }

                            var progress = Interlocked.Read(ref issued) + 20 + random.Next(60);
                            RaceKit.Until(() => Interlocked.Read(ref issued) >= progress);
                            network.Abort(grid.Nodes[random.Next(2)].Address);
                            result.Iterated();
                        }
                    }
                    finally
                    {
                        Volatile.Write(ref stop, 1);
                    }

                    return;
                }

                var from = thread % 2;
                var outstanding = new Queue<CallRecord>();
                for (var i = 0; Volatile.Read(ref stop) == 0; i++)
                {
                    var record = Call(grid.From(from, 1 - from), random, string.Create(CultureInfo.InvariantCulture, $"t{thread}-{i}"), result, slow, out var isSlow);
                    records.Enqueue(record);
                    if (!isSlow)
                    {
                        outstanding.Enqueue(record);
                    }

                    Interlocked.Increment(ref issued);

                    // Refused at once (not connected): wait for the redial rather than pile up refusals.
                    if (record.Ended.IsCompleted && record.Error is DisconnectedException)
                    {
                        RaceKit.Until(() => grid.From(from, 1 - from).State == ConnectionState.Connected || Volatile.Read(ref stop) != 0);
                    }

                    while (outstanding.Count > 0 && outstanding.Peek().Settled)
                    {
                        outstanding.Dequeue();
                    }

                    // Never more than 64 quick calls unsettled: wait for the oldest.
                    if (outstanding.Count >= 64 && !RaceKit.Until(() => outstanding.Peek().Settled))
                    {
                        result.Violation("violation: a call hung: " + outstanding.Peek().Check(Lost));
                        return;
                    }
                }
            });

            // The last reset ends the slow calls still in flight; then every call has ended.
            network.Abort(grid.Nodes[0].Address);
            await FinishAsync(result, grid, [.. records], slow);
        });
    }

    /// <summary>A node (or both at once) disposed while both nodes call each other; calls go on after it.</summary>
    /// <param name="rounds">Grids started, raced and disposed.</param>
    public static Task<StressResult> DisposeAgainstCallsAsync(int rounds, int seed = 5)
    {
        var result = new StressResult("dispose-vs-calls/inmemory");
        return RaceKit.Timed(result, async () =>
        {
            var random = new Random(seed);
            for (var round = 0; round < rounds && result.ViolationCount < 20; round++)
            {
                var slow = new SlowHandlers();
                var grid = await StressGrid.StartAsync(StressTransport.InMemory, slow.Register);
                var disposing = (round % 3) switch
                {
                    0 => new[] { grid.Nodes[0] },
                    1 => [grid.Nodes[1]],
                    _ => [grid.Nodes[0], grid.Nodes[1]],
                };
                var records = new ConcurrentQueue<CallRecord>();
                var issued = new int[2];
                var disposed = 0;
                var afterDispose = 10 + random.Next(20);
                var spin = random.Next(5_000);
                await RaceKit.Threads(2 + disposing.Length, thread =>
                {
                    if (thread >= 2)
                    {
                        // The disposers: once both callers are well under way, each disposes its node (together, for both).
                        RaceKit.Until(() => Volatile.Read(ref issued[0]) >= 20 && Volatile.Read(ref issued[1]) >= 20);
                        Thread.SpinWait(spin);
                        var dispose = disposing[thread - 2].DisposeAsync().AsTask();
                        if (!dispose.Wait(StressGrid.Guard))
                        {
                            result.Violation("violation: DisposeAsync hung");
                        }

                        Interlocked.Increment(ref disposed);
                        return;
                    }

                    var callerRandom = new Random(seed + round + thread);
                    var after = 0;
                    for (var i = 0; after < afterDispose; i++)
                    {
                        var isAfter = Volatile.Read(ref disposed) == disposing.Length;
                        records.Enqueue(Call(grid.From(thread, 1 - thread), callerRandom, string.Create(CultureInfo.InvariantCulture, $"r{round}-t{thread}-{i}"), result, slow, out _));
                        Interlocked.Increment(ref issued[thread]);
                        if (isAfter)
                        {
                            after++;
                        }
                    }
                });

                foreach (var node in disposing)
                {
                    foreach (var connection in node.Connections.Where(c => c.State != ConnectionState.ShutDown))
                    {
                        result.Violation($"violation: {connection} after its manager was disposed");
                    }
                }

                // The survivor hears the Disconnect (or the link's end) and fails its calls; nothing stays Connected.
                foreach (var survivor in grid.Nodes.Except(disposing))
                {
                    if (!await RaceKit.UntilAsync(() => survivor.Connections.All(c => c.State != ConnectionState.Connected)))
                    {
                        result.Violation($"violation: {string.Join(", ", survivor.Connections)} still connected to a disposed node");
                    }
                }

                await FinishAsync(result, grid, [.. records], slow);
                await grid.DisposeAsync();
                if (!await RaceKit.UntilAsync(() => grid.Network!.LiveLinkCount == 0))
                {
                    result.Violation($"violation: {grid.Network!.LiveLinkCount} links left open after every manager was disposed");
                }

                result.Iterated();
            }
        });
    }

    /// <summary>
    /// Two managers started at once while one of them is disposed (before, during or after its start, its dial, its
    /// accept and its handshake); then both disposed. Afterwards no link is open and the addresses are free again.
    /// </summary>
    /// <param name="transport">In memory or real WebSockets.</param>
    /// <param name="rounds">Pairs of managers raced.</param>
    public static Task<StressResult> DisposeAgainstStartAsync(StressTransport transport, int rounds, int seed = 7)
    {
        var result = new StressResult($"dispose-vs-start/{transport.ToString().ToLowerInvariant()}");
        return RaceKit.Timed(result, async () =>
        {
            var random = new Random(seed);
            var logTarget = 10.0;

            // At most about 5 ms of spinning in memory, 100 ms on WebSockets (where starting takes that long).
            var maxLog = transport == StressTransport.InMemory ? 18 : 22;
            for (var round = 0; round < rounds && result.ViolationCount < 20; round++)
            {
                var log = new StressLogger();
                var (nodes, network) = StressGrid.Create(transport, 2, node => node.Register(Echo, (p, _) => ValueTask.FromResult(p)), log, configure: FastRedial);
                var victim = random.Next(2);
                // Log-scaled around a target that adapts to the boundary between "disposed before start" and after, so
                // that every stage of the start (listen, dial, accept, handshake) gets its share.
                var spin = (int)Math.Pow(2, Math.Clamp(logTarget + (random.NextDouble() * 8) - 4, 0, maxLog));
                var disposedFirst = 0;
                using var barrier = new Barrier(3);
                await RaceKit.Threads(3, thread =>
                {
                    barrier.SignalAndWait(StressGrid.Guard);
                    try
                    {
                        if (thread < 2)
                        {
                            if (!nodes[thread].StartAsync().AsTask().Wait(StressGrid.Guard))
                            {
                                result.Violation("violation: StartAsync hung while the manager was disposed");
                            }
                        }
                        else
                        {
                            Thread.SpinWait(spin);
                            if (!nodes[victim].DisposeAsync().AsTask().Wait(StressGrid.Guard))
                            {
                                result.Violation("violation: DisposeAsync hung while the manager started");
                            }
                        }
                    }
                    catch (AggregateException ex) when (ex.InnerException is ObjectDisposedException && thread == victim)
                    {
                        result.Count("disposed before start");
                        disposedFirst = 1;
                    }
#pragma warning disable CA1031 // Anything else is a violation, recorded.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        result.Violation($"violation: {(thread < 2 ? "StartAsync" : "DisposeAsync")} threw: {ex}");
                    }
                });

                logTarget = Math.Clamp(logTarget + (disposedFirst == 1 ? 1 : -1), 0, maxLog);
                foreach (var node in nodes)
                {
                    await node.DisposeAsync().AsTask().WaitAsync(StressGrid.Guard);
                }

                foreach (var connection in nodes.SelectMany(n => n.Connections).Where(c => c.State != ConnectionState.ShutDown))
                {
                    result.Violation($"violation: {connection} after its manager was disposed");
                }

                if (network is not null && !await RaceKit.UntilAsync(() => network.LiveLinkCount == 0))
                {
                    result.Violation($"violation: {network.LiveLinkCount} links left open after both managers were disposed");
                }

                // Disposed means the address is free: a new manager can listen there at once.
                var (again, _) = StressGrid.Create(transport, 2, null, log, network, [.. nodes.Select(n => n.Address)]);
                try
                {
                    await again[victim].StartAsync();
                    result.Count("address free again");
                }
#pragma warning disable CA1031 // A failure to listen again is the violation.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    result.Violation($"violation: {AddressInUse}: it was disposed {spin:N0} spins after both started: {ex.GetType().Name}: {ex.Message}");
                }
                finally
                {
                    await again[victim].DisposeAsync();
                }

                foreach (var failure in log.InternalFailures)
                {
                    result.Violation("violation: the grid logged an internal failure: " + failure);
                }

                result.Iterated();
            }
        });
    }

    private static ManagerOptions FastRedial(ManagerOptions options) => options with
    {
        Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5), StableAfter = TimeSpan.FromMilliseconds(1) },
    };

    /// <summary>Every call ended (or was disposed), every lost handler's token fired, and nothing is left in the tables.</summary>
    private static async Task FinishAsync(StressResult result, StressGrid grid, CallRecord[] records, SlowHandlers slow)
    {
        if (!await RaceKit.UntilAsync(() => records.All(r => r.Settled)))
        {
            foreach (var record in records.Where(r => !r.Settled).Take(5))
            {
                result.Violation("violation: a call hung: " + record.Check(Lost));
            }
        }

        RaceKit.Tally(result, records, Lost);
        if (!await RaceKit.UntilAsync(() => slow.Ended == slow.Started))
        {
            result.Violation($"violation: {slow.Started - slow.Ended} of {slow.Started} handlers of lost calls never saw their token fire");
        }

        if (!await RaceKit.UntilAsync(() => grid.PendingCalls() == 0))
        {
            result.Violation($"violation: calls left behind: {grid.PendingCalls()} still pending after every call ended");
        }

        grid.ReportLog(result);
    }
}
