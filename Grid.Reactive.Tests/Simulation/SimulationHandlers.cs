using System.Text;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// The handlers every simulated node serves, registered again at every restart. Their timing is random but drawn from
/// the grid's seeded <see cref="SimulatedGrid.Random"/>, and they wait only on the grid's scheduler, so runs replay.
/// </summary>
internal static class SimulationHandlers
{
    public static readonly HandlerId Echo = new(1);
    public static readonly HandlerId Fail = new(2);
    public static readonly HandlerId Hang = new(3);
    public static readonly HandlerId Relay = new(4);

    /// <summary>Registered nowhere: calls to it end with HandlerNotFoundException.</summary>
    public static readonly HandlerId Missing = new(99);

    public static void Register(SimulatedGrid grid, CallLedger ledger, Manager node)
    {
        var random = grid.Random;
        var scheduler = grid.Scheduler;
        var name = node.Address;

        // Echo answers the payload tagged with this node, at once or after up to 400 ms (longer than some deadlines).
        node.Register(Echo, payload =>
        {
            ledger.Served(name, payload);
            var answer = Encoding.UTF8.GetBytes(CallLedger.Call.Answer(Encoding.UTF8.GetString(payload), name));
            return random.NextDouble() < 0.4
                ? Observable.Return(answer)
                : Observable.Timer(Delay(random, 400), scheduler).Select(_ => answer);
        });

        // Fail throws from the handler itself, or errors at once, or errors after a delay.
        node.Register(Fail, payload =>
        {
            ledger.Served(name, payload);
            var error = new InvalidOperationException("fail:" + Encoding.UTF8.GetString(payload));
            return random.Next(3) switch
            {
                0 => throw error,
                1 => Observable.Throw<byte[]>(error),
                _ => Observable.Timer(Delay(random, 200), scheduler).SelectMany(_ => Observable.Throw<byte[]>(error)),
            };
        });

        // Relay calls the named third node's echo on this node's own connection and answers with that answer, tagged
        // again. Cancelling the outer call disposes the inner one: the cancel must travel on down the chain.
        node.Register(Relay, payload =>
        {
            ledger.Served(name, payload);
            return node.Connection(CallLedger.RelayTarget(payload)).Request(Echo, payload, TimeSpan.FromSeconds(1))
                .Select(inner => Encoding.UTF8.GetBytes(CallLedger.Call.Answer(Encoding.UTF8.GetString(inner), name)));
        });

        // Hang never answers; its token must fire (deadline, caller's cancel or lost link) before the run ends.
        node.Register(Hang, (payload, cancellationToken) =>
        {
            var id = ledger.Served(name, payload);
            var never = new TaskCompletionSource<byte[]>();
            var cancelled = false;
            cancellationToken.Register(() =>
            {
                cancelled = true;
                never.TrySetCanceled(cancellationToken);
            });
            ledger.Hanging(id, name, () => cancelled);
            return new ValueTask<byte[]>(never.Task);
        });
    }

    private static TimeSpan Delay(Random random, int maxMs) => TimeSpan.FromMilliseconds(1 + random.Next(maxMs));
}
