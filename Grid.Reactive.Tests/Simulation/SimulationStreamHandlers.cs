using System.Reactive.Concurrency;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// The stream handlers every simulated node serves, one per <see cref="StreamKind"/>, in both handler shapes (Rx and
/// credit-aware async), with small windows (1 to 8, drawn per node and start) so that credit matters. Each reads its
/// plan from the initial payload, checks the caller's messages through the ledger, and paces itself only on the
/// grid's scheduler, so runs replay.
/// </summary>
internal static class SimulationStreamHandlers
{
    public static readonly HandlerId Push = new(11);
    public static readonly HandlerId PacedPush = new(12);
    public static readonly HandlerId Count = new(13);
    public static readonly HandlerId Echo = new(14);
    public static readonly HandlerId AsyncEcho = new(15);

    /// <summary>Registered as a stream nowhere: opening it ends with HandlerNotFoundException.</summary>
    public static readonly HandlerId Missing = new(98);

    public static HandlerId For(StreamKind kind) => kind switch
    {
        StreamKind.Push => Push,
        StreamKind.PacedPush => PacedPush,
        StreamKind.Count => Count,
        StreamKind.Echo => Echo,
        StreamKind.AsyncEcho or StreamKind.Probe => AsyncEcho,
        _ => Missing,
    };

    public static void Register(SimulatedGrid grid, StreamLedger ledger, Manager node)
    {
        var random = grid.Random;
        var scheduler = grid.Scheduler;
        var name = node.Address;
        int Window() => 1 + random.Next(8);

        // Server push, credit-aware: each send waits for the caller's credit.
        node.RegisterStream(Push, async (stream, cancellationToken) =>
        {
            var plan = StreamPlan.Decode(stream.Payload);
            var serving = ledger.Served(name, plan);
            try
            {
                for (var i = 1; i <= plan.Count; i++)
                {
                    await stream.SendAsync(Down(plan, i, StreamPlan.Pushed(i, name)), cancellationToken);
                }

                await Finish(plan, cancellationToken);
            }
            finally
            {
                serving.End();
            }
        }, new StreamHandlerOptions { InCapacity = 0, OutCapacity = Window() });

        // Server push, the Rx way: one message per tick, whatever the credit (within the push buffer).
        node.RegisterStream(PacedPush, (payload, _) =>
        {
            var plan = StreamPlan.Decode(payload);
            var serving = ledger.Served(name, plan);
            return Observable.Interval(TimeSpan.FromMilliseconds(Math.Max(1, plan.GapMs)), scheduler)
                .Take(plan.Count)
                .Select(i => Down(plan, (int)i + 1, StreamPlan.Pushed((int)i + 1, name)))
                .Concat(Ending(plan))
                .Finally(serving.End);
        }, new StreamHandlerOptions { InCapacity = 0, OutCapacity = Window() });

        // Client push: counts the caller's messages and answers once, after the input ends.
        node.RegisterStream(Count, (payload, incoming) =>
        {
            var plan = StreamPlan.Decode(payload);
            var serving = ledger.Served(name, plan);
            return incoming.Do(m => serving.Take(m)).LongCount()
                .Select(n => Down(plan, 1, StreamPlan.Counted(n, name)))
                .Concat(Ending(plan))
                .Finally(serving.End);
        }, new StreamHandlerOptions { InCapacity = Window(), OutCapacity = Window() });

        // Two-way, the Rx way: every message echoed, delayed on the scheduler when the plan paces it.
        node.RegisterStream(Echo, (payload, incoming) =>
        {
            var plan = StreamPlan.Decode(payload);
            var serving = ledger.Served(name, plan);
            var echoes = incoming.Select(m =>
            {
                var body = serving.Take(m);
                return Down(plan, serving.Received, StreamPlan.Echoed(body, name));
            });
            return (plan.GapMs > 0 ? echoes.Delay(TimeSpan.FromMilliseconds(plan.GapMs), scheduler) : echoes)
                .Concat(Ending(plan))
                .Finally(serving.End);
        }, new StreamHandlerOptions { InCapacity = Window(), OutCapacity = Window() });

        // Two-way, credit-aware and async: pulls a message (returning credit), pauses on the scheduler, awaits the send.
        node.RegisterStream(AsyncEcho, async (stream, cancellationToken) =>
        {
            var plan = StreamPlan.Decode(stream.Payload);
            var serving = ledger.Served(name, plan);
            try
            {
                await foreach (var message in stream.ReadAllAsync(cancellationToken))
                {
                    var body = serving.Take(message);
                    if (plan.GapMs > 0)
                    {
                        await Pause(scheduler, TimeSpan.FromMilliseconds(plan.GapMs), cancellationToken);
                    }

                    await stream.SendAsync(Down(plan, serving.Received, StreamPlan.Echoed(body, name)), cancellationToken);
                }

                await Finish(plan, cancellationToken);
            }
            finally
            {
                serving.End();
            }
        }, new StreamHandlerOptions { InCapacity = Window(), OutCapacity = Window() });
    }

    private static byte[] Down(StreamPlan plan, int seq, string body) => new StreamMessage(plan.Id, StreamMessage.Down, seq, body).Encode();

    /// <summary>How an Rx handler's output ends, by plan.</summary>
    private static IObservable<byte[]> Ending(StreamPlan plan) => plan.Behavior switch
    {
        StreamBehavior.Fail => Observable.Throw<byte[]>(new InvalidOperationException(plan.FailText)),
        StreamBehavior.Hang => Observable.Never<byte[]>(),
        _ => Observable.Empty<byte[]>(),
    };

    /// <summary>How an async handler ends, by plan.</summary>
    private static async Task Finish(StreamPlan plan, CancellationToken cancellationToken)
    {
        switch (plan.Behavior)
        {
            case StreamBehavior.Fail:
                throw new InvalidOperationException(plan.FailText);
            case StreamBehavior.Hang:
                var never = new TaskCompletionSource();
                await using (cancellationToken.Register(() => never.TrySetCanceled(cancellationToken)))
                {
                    await never.Task;
                }

                break;
        }
    }

    /// <summary>Waits on the scheduler (never on a timer task), so the handler resumes in virtual time, in order.</summary>
    private static async Task Pause(IScheduler scheduler, TimeSpan delay, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource();
        using var timer = scheduler.Schedule(delay, () => done.TrySetResult());
        await using (cancellationToken.Register(() => done.TrySetCanceled(cancellationToken)))
        {
            await done.Task;
        }
    }
}
