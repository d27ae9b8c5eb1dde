using System.Collections.Concurrent;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;

namespace Grid.Reactive.FaultRun;

/// <summary>
/// The load node: a fixed number of calls in flight to every other node, each with a deadline, each accounted for
/// in the books; a watchdog that ends as hung any call still open at deadline + grace; the books printed every
/// few seconds and at the end, with recovery times read against the script's fault log.
/// </summary>
internal static class LoadNode
{
    public static async Task<int> RunAsync(NodeArgs args, CancellationToken stop)
    {
        await using var node = GridNode.Create(args);
        using var states = GridNode.LogStates(node);
        await node.StartAsync(CancellationToken.None);

        var connected = node.Connections.Select(c => c.FirstAsync(s => s == ConnectionState.Connected)).Merge().LastAsync();
        try
        {
            await connected.Timeout(TimeSpan.FromSeconds(120)).ToTask(stop);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} not connected to every peer: "
                + string.Join(", ", node.Connections.Where(c => c.State != ConnectionState.Connected).Select(c => $"{c.RemoteAddress} {c.State}")));
            return 1;
        }

        var started = Clock.NowMs;
        Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} READY: connected to all {node.Connections.Count} peers; load starts");
        if (args.Ready is { } ready)
        {
            await File.WriteAllTextAsync(ready, $"{started}\n", CancellationToken.None);
        }

        var books = node.Connections.ToDictionary(c => c.RemoteAddress, c => new PeerBooks(c.RemoteAddress), StringComparer.Ordinal);
        var live = new ConcurrentDictionary<long, CallProbe>();
        long seq = 0;
        using var quit = new CancellationTokenSource();

        async Task Worker(Connection connection, PeerBooks peer, int seed)
        {
            var random = new Random(seed);
            while (!stop.IsCancellationRequested)
            {
                var id = Interlocked.Increment(ref seq);
                var stream = args.StreamEvery > 0 && id % args.StreamEvery == 0;
                var request = Payloads.Request(id, stream ? args.StreamMessages : 0, random);
                var now = Clock.NowMs;
                var probe = new CallProbe(peer, stream, request, now, now + (long)(args.Deadline + args.Grace).TotalMilliseconds);
                live[id] = probe;
                peer.Issued(stream);
                IDisposable? subscription = null;
                try
                {
                    subscription = stream
                        ? connection.NewStream(Payloads.Numbers, request, new StreamOptions { Timeout = args.Deadline }).Subscribe(probe)
                        : connection.Request(Payloads.Echo, request, args.Deadline).Subscribe(probe);
                }
                catch (Exception e)
                {
                    probe.OnError(e); // a throwing Subscribe is counted as a failure of that type
                }

                var outcome = await probe.Ended;
                live.TryRemove(id, out _);
                subscription?.Dispose();
                if (outcome != Outcome.Ok)
                {
                    await Task.Delay(20, CancellationToken.None); // a failed call may fail at once; don't spin
                }
                else if (args.Think > TimeSpan.Zero)
                {
                    await Task.Delay(args.Think, CancellationToken.None);
                }
            }
        }

        async Task Watchdog()
        {
            while (!quit.IsCancellationRequested)
            {
                var now = Clock.NowMs;
                foreach (var probe in live.Values)
                {
                    if (now >= probe.HungAt)
                    {
                        probe.MarkHung(now);
                    }
                }

                await Task.Delay(100, CancellationToken.None);
            }
        }

        async Task Reporter()
        {
            while (!quit.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(args.ReportEvery, quit.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var report = BooksReport.Build(args, started, Clock.NowMs, books.Values, FaultLog.Read(args.Faults), final: false);
                Console.WriteLine(report.Line());
                report.Write(args.Books);
            }
        }

        var watchdog = Task.Run(Watchdog, CancellationToken.None);
        var reporter = Task.Run(Reporter, CancellationToken.None);
        var workers = node.Connections
            .SelectMany(c => Enumerable.Range(0, args.Concurrency).Select(i => (c, i)))
            .Select((w, n) => Task.Run(() => Worker(w.c, books[w.c.RemoteAddress], n + 1), CancellationToken.None))
            .ToArray();

        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
        }

        Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} stopping the load; waiting for the calls in flight (the watchdog ends any at deadline + grace)");
        await Task.WhenAll(workers);
        await quit.CancelAsync();
        await Task.WhenAll(watchdog, reporter);

        var final = BooksReport.Build(args, started, Clock.NowMs, books.Values, FaultLog.Read(args.Faults), final: true);
        final.Write(args.Books);
        Console.WriteLine(final.Summary());
        return final.Clean ? 0 : 2;
    }
}
