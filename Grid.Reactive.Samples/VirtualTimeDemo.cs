using System.Diagnostics;
using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Text;
using Grid.Reactive;
using Grid.Reactive.Testing;

/// <summary>
/// Testing timing without waiting: a two-node grid on Rx's <see cref="HistoricalScheduler"/>, a virtual clock that
/// only moves when told to. A one-second deadline expires and a cut link is redialed at once, then with exponential
/// backoff, each at its exact virtual time, in a few milliseconds of real time. In a test, use <c>TestScheduler</c>
/// the same way.
/// </summary>
internal static class VirtualTimeDemo
{
    private static readonly HandlerId PriceLookup = new(100);

    public static async Task RunAsync()
    {
        var realTime = Stopwatch.StartNew();
        var scheduler = new HistoricalScheduler();
        var start = scheduler.Now;
        void Say(string text) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [virtual {(scheduler.Now - start).TotalMilliseconds,7:F1} ms] {text}"));

        await using var grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = ["shop", "prices"],
            Scheduler = scheduler,

            // A handler that takes 3 s, waiting on the scheduler it is given (never on Task.Delay).
            Setup = node => node.Register(PriceLookup, _ =>
                Observable.Timer(TimeSpan.FromSeconds(3), scheduler).Select(_ => Encoding.UTF8.GetBytes("9.99"))),

            // No jitter, so the backoff is exact. A link that was up for a while (ReconnectPolicy.StableAfter, 1 s) is
            // redialed at once when lost; the failures after that wait 100 ms, then 200, 400, 800.
            Configure = o => o with
            {
                Reconnect = o.Reconnect with { InitialDelay = TimeSpan.FromMilliseconds(100), Multiplier = 2, MaxDelay = TimeSpan.FromSeconds(1), Jitter = 0 },
            },
        }).Start();
        grid.RunFor(TimeSpan.FromMilliseconds(10));
        Say($"two nodes connected over a simulated network with 1 ms links: {grid.AllConnected}");

        grid["shop"].Connection("prices").Request(PriceLookup, Encoding.UTF8.GetBytes("book"), TimeSpan.FromSeconds(1)).Subscribe(
            price => Say($"answered {Encoding.UTF8.GetString(price)} (unexpected)"),
            error => Say($"{error.GetType().Name}: {error.Message}"));
        Say("shop asks prices, with a 1 s deadline, a handler that takes 3 s");
        grid.RunFor(TimeSpan.FromSeconds(2));

        var (dialer, acceptor) = grid["shop"].Connection("prices").IsDialer ? ("shop", "prices") : ("prices", "shop");
        using (grid[dialer].Connection(acceptor).Skip(1).Subscribe(state => Say($"{dialer} -> {acceptor}: {state}")))
        {
            Say($"the link is cut for 1 s; {dialer} redials at once (the link was stable), then backs off: 100, 200, 400, 800 ms");
            grid.Cut(dialer, acceptor);
            grid.RunFor(TimeSpan.FromSeconds(1));
            Say("the link is healed");
            grid.Heal(dialer, acceptor);
            grid.RunFor(TimeSpan.FromSeconds(2));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {(scheduler.Now - start).TotalSeconds:F2} s of virtual time took {realTime.Elapsed.TotalMilliseconds:F0} ms of real time."));
    }
}
