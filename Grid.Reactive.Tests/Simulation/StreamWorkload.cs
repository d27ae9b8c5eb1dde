using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// The callers' side of the simulated streams: opens random streams between random pairs, receives the handler's
/// messages by observing the stream or by pulling them (<c>ReadAllAsync</c>), sends the caller's messages in one of three
/// ways (all pushed at once, pushed on a timer, or each send awaited for credit), and now and then cancels one
/// (disposing it or cancelling its reader, or with its <c>OnError</c>). Every choice comes from the grid's seeded random.
/// </summary>
internal static class StreamWorkload
{
    private enum Sending
    {
        /// <summary>Every message pushed at once, then the end: they wait for credit in the push buffer.</summary>
        PushAll,

        /// <summary>One message pushed per tick of a timer on the scheduler, then the end.</summary>
        Paced,

        /// <summary>Each message's SendAsync awaited (it waits for credit), then the end.</summary>
        Awaited,
    }

    /// <summary>Opens one random stream.</summary>
    public static void OpenOne(SimulatedGrid grid, StreamLedger ledger)
    {
        var random = grid.Random;
        var from = grid.Nodes[random.Next(grid.Nodes.Count)];
        var others = grid.Nodes.Where(n => n != from).ToList();
        var to = others[random.Next(others.Count)];
        var kind = random.Next(100) switch
        {
            < 18 => StreamKind.Push,
            < 33 => StreamKind.PacedPush,
            < 48 => StreamKind.Count,
            < 68 => StreamKind.Echo,
            < 94 => StreamKind.AsyncEcho,
            _ => StreamKind.Missing,
        };
        var behavior = random.Next(100) switch
        {
            < 80 => StreamBehavior.Complete,
            < 90 => StreamBehavior.Fail,
            _ => StreamBehavior.Hang,
        };
        var count = random.Next(31);
        var gapMs = random.Next(3) == 0 ? 0 : 1 + random.Next(20);
        TimeSpan? deadline = random.Next(100) < 60 ? TimeSpan.FromMilliseconds(50 + random.Next(3000)) : null;
        var sending = (Sending)random.Next(3);
        var sendGapMs = 1 + random.Next(20);
        var pull = random.Next(3) == 0;

        var record = ledger.Open(from, to, kind, count, behavior, kind is StreamKind.PacedPush or StreamKind.Echo or StreamKind.AsyncEcho ? gapMs : 0, deadline);
        Open(grid, record, sending, sendGapMs, pull);
        switch (random.Next(100))
        {
            case < 8:
                grid.Scheduler.Schedule(TimeSpan.FromMilliseconds(random.Next(2100)), () => record.Abandon!(false));
                break;
            case < 12:
                grid.Scheduler.Schedule(TimeSpan.FromMilliseconds(random.Next(2100)), () => Fail(grid, record));
                break;
        }
    }

    /// <summary>Opens a stream that must complete: five messages echoed, after everything healed.</summary>
    public static void Probe(SimulatedGrid grid, StreamLedger ledger, string from, string to) =>
        Open(grid, ledger.Open(from, to, StreamKind.Probe, 5, StreamBehavior.Complete, 0, TimeSpan.FromSeconds(2)), Sending.PushAll, 0, pull: false);

    private static void Open(SimulatedGrid grid, StreamRecord record, Sending sending, int sendGapMs, bool pull)
    {
        var plan = record.Plan;
        record.StartedAt = grid.Scheduler.Now;
        record.Sending = (pull ? "reads, sends " : "observes, sends ")
            + (plan.HasInput ? string.Create(CultureInfo.InvariantCulture, $"{sending}{(sending == Sending.Paced ? $" {sendGapMs} ms" : "")}") : "none");
        var stream = grid.Stream(record.From, record.To, SimulationStreamHandlers.For(plan.Kind), plan.Encode(), new StreamOptions { Timeout = record.Deadline });
        var reader = new CancellationTokenSource();
        var subscription = pull ? Disposable.Create(reader.Cancel) : stream.Subscribe(record);
        if (pull)
        {
            _ = Read(stream, record, reader.Token);
        }

        var pacer = Disposable.Empty;
        if (plan.HasInput)
        {
            switch (sending)
            {
                case Sending.PushAll:
                    for (var i = 1; i <= plan.Count; i++)
                    {
                        stream.OnNext(Up(plan, i));
                    }

                    stream.OnCompleted();
                    break;
                case Sending.Paced:
                    pacer = Observable.Interval(TimeSpan.FromMilliseconds(sendGapMs), grid.Scheduler).Take(plan.Count)
                        .Subscribe(i => stream.OnNext(Up(plan, (int)i + 1)), stream.OnCompleted);
                    break;
                default:
                    _ = SendAwaited(stream, plan);
                    break;
            }
        }

        record.Abandon = stalled =>
        {
            record.Cancel(stalled);
            subscription.Dispose();
            pacer.Dispose();
        };
        record.FailByCaller = error =>
        {
            record.CallerFails(error);
            stream.OnError(error);
        };
    }

    private static void Fail(SimulatedGrid grid, StreamRecord record)
    {
        var error = new InvalidOperationException($"the caller gives up on stream #{record.Plan.Id}");
        grid.Note(record.From, $"caller fails stream #{record.Plan.Id}");
        record.FailByCaller!(error);
    }

    /// <summary>
    /// The caller pulls: each message read goes to the record, then the end or the error. A cancel of its own (the token)
    /// stops it reading at once, with nothing more recorded; the reader must then return.
    /// </summary>
    private static async Task Read(TracedStream stream, StreamRecord record, CancellationToken cancellationToken)
    {
        record.ReaderDone = false;
        try
        {
            await foreach (var message in stream.ReadAllAsync(cancellationToken))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                record.OnNext(message);
            }

            if (!cancellationToken.IsCancellationRequested)
            {
                record.OnCompleted();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The stream's error is the record's to judge.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            record.OnError(ex);
        }
        finally
        {
            record.ReaderDone = true;
        }
    }

    private static async Task SendAwaited(TracedStream stream, StreamPlan plan)
    {
        try
        {
            for (var i = 1; i <= plan.Count; i++)
            {
                await stream.SendAsync(Up(plan, i));
            }

            stream.OnCompleted();
        }
#pragma warning disable CA1031 // The stream ended under the sender; its observer has the reason.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static byte[] Up(StreamPlan plan, int seq) => new StreamMessage(plan.Id, StreamMessage.Up, seq, StreamMessage.UpBody(plan.Id, seq)).Encode();
}
