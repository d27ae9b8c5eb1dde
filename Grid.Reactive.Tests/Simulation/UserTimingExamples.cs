using System.Text;
using Grid.Reactive.Testing;
using Microsoft.Reactive.Testing;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// How to test the timing of your own handlers and of the grid's reconnects with Rx's <see cref="TestScheduler"/>:
/// copy these. A grid of real managers runs in virtual time on your scheduler, so a one-second deadline or a
/// second-long backoff takes microseconds of real time, and every timestamp is exact.
/// </summary>
/// <remarks>
/// Reading the timelines: links have 1 ms latency (<see cref="SimulationOptions.DefaultLatency"/>), and a
/// <see cref="TestScheduler"/> runs work scheduled "now" one tick (100 ns) later, so each hand-off inside the grid
/// (a link flushing, a handler or an observer being dispatched) shows as one <see cref="Tick"/>.
/// </remarks>
[Category("Simulation")]
public sealed class UserTimingExamples
{
    private const long Tick = 1;

    // Your handler ids, shared by every node.
    private static readonly HandlerId PriceLookup = new(100);

    [Test]
    public async Task Deadline_SlowHandler_FailsTheCallAtExactlyItsDeadline_AndTheHandlerIsCancelled()
    {
        var scheduler = new TestScheduler();
        var handlerStoppedAt = new List<long>();

        // Your handler: answers after 3 s. It waits on the scheduler it is given, never on Task.Delay.
        IObservable<byte[]> LookUpPrice(byte[] item) =>
            Observable.Timer(TimeSpan.FromSeconds(3), scheduler)
                .Select(_ => Encoding.UTF8.GetBytes("9.99"))
                .Finally(() => handlerStoppedAt.Add(scheduler.Clock));

        await using var grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = ["shop", "prices"],
            Scheduler = scheduler,
            Setup = node => node.Register(PriceLookup, LookUpPrice),
        }).Start();
        scheduler.AdvanceTo(Ms(10)); // the two nodes connect within 3 ms
        var answer = scheduler.CreateObserver<byte[]>();

        grid["shop"].Connection("prices").Request(PriceLookup, Encoding.UTF8.GetBytes("book"), TimeSpan.FromSeconds(1)).Subscribe(answer);
        scheduler.AdvanceTo(Ms(5_000));

        // The caller gives up at 10 ms + 1 s sharp; its observer hears of it one hop (one tick) later, since user code
        // never runs on the grid's timers.
        answer.Messages.AssertEqual(OnError<byte[]>(Ms(1_010) + Tick, e => e is DeadlineExceededException));

        // The deadline travelled with the request: the handler, reached at 11 ms (plus the flush tick), is cancelled
        // by its own node 1 s later (plus the dispatch tick), instead of working on for nobody.
        Assert.That(handlerStoppedAt, Is.EqualTo(new[] { Ms(1_011) + (2 * Tick) }));
    }

    [Test]
    public async Task Deadline_FastEnoughHandler_AnswersWithinIt()
    {
        var scheduler = new TestScheduler();
        await using var grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = ["shop", "prices"],
            Scheduler = scheduler,
            Setup = node => node.Register(PriceLookup, item =>
                Observable.Timer(TimeSpan.FromMilliseconds(900), scheduler).Select(_ => Encoding.UTF8.GetBytes("9.99"))),
        }).Start();
        scheduler.AdvanceTo(Ms(10));
        var answer = scheduler.CreateObserver<string>();

        grid["shop"].Connection("prices").Request(PriceLookup, Encoding.UTF8.GetBytes("book"), TimeSpan.FromSeconds(1))
            .Select(Encoding.UTF8.GetString).Subscribe(answer);
        scheduler.AdvanceTo(Ms(5_000));

        // Sent at 10 ms, served at 11 ms, ready 900 ms later, back 1 ms after that: 912 ms, plus five hand-offs (the
        // four of every call, and the answer of a handler whose task completes later resuming on the scheduler).
        answer.Messages.AssertEqual(
            OnNext(Ms(912) + (5 * Tick), "9.99"),
            OnCompleted<string>(Ms(912) + (5 * Tick)));
    }

    [Test]
    public async Task Reconnect_AfterALinkIsCut_RedialsWithExponentialBackoff_AndConnectsOnTheFirstDialAfterHeal()
    {
        var scheduler = new TestScheduler();
        await using var grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = ["a", "b"],
            Scheduler = scheduler,

            // No jitter, so the backoff is exact: 100 ms, then 200, 400, 800 (keep the seeded policy: `with`).
            Configure = o => o with
            {
                Reconnect = o.Reconnect with { InitialDelay = TimeSpan.FromMilliseconds(100), Multiplier = 2, MaxDelay = TimeSpan.FromSeconds(1), Jitter = 0 },
            },
        }).Start();
        scheduler.AdvanceTo(Ms(10));

        // One side of each pair dials, decided from the two addresses; the other waits to be dialed.
        var (dialer, acceptor) = grid["a"].Connection("b").IsDialer ? ("a", "b") : ("b", "a");
        var states = scheduler.CreateObserver<ConnectionState>();
        grid[dialer].Connection(acceptor).Subscribe(states);

        grid.Cut(dialer, acceptor);
        scheduler.AdvanceTo(Ms(1_000));
        grid.Heal(dialer, acceptor);
        scheduler.AdvanceTo(Ms(3_000));

        states.Messages.AssertEqual(
            OnNext(Ms(10), ConnectionState.Connected), // the current state, replayed on subscription; each change reaches observers one hop after it happens
            OnNext(Ms(10) + (2 * Tick), ConnectionState.Disconnected), // the cut
            OnNext(Ms(110) + (2 * Tick), ConnectionState.Connecting), // + 100 ms: the dial fails at once, the link is cut
            OnNext(Ms(110) + (2 * Tick), ConnectionState.Disconnected),
            OnNext(Ms(310) + (2 * Tick), ConnectionState.Connecting), // + 200 ms
            OnNext(Ms(310) + (2 * Tick), ConnectionState.Disconnected),
            OnNext(Ms(710) + (2 * Tick), ConnectionState.Connecting), // + 400 ms
            OnNext(Ms(710) + (2 * Tick), ConnectionState.Disconnected),
            OnNext(Ms(1_510) + (2 * Tick), ConnectionState.Connecting), // + 800 ms, healed meanwhile at 1 s
            OnNext(Ms(1_514) + (6 * Tick), ConnectionState.Connected)); // handshake: hello, challenge, proof, proof: 1 ms each
    }

    [Test]
    public async Task Stream_APacedHandler_DeliversEachMessageAtItsVirtualTime_AndADeadlineCutsItShort()
    {
        var scheduler = new TestScheduler();
        var ticker = new HandlerId(101);
        await using var grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = ["shop", "prices"],
            Scheduler = scheduler,

            // Your stream handler: a price every 100 ms, paced on the scheduler; it takes no input.
            Setup = node => node.RegisterStream(ticker, (_, _) =>
                Observable.Interval(TimeSpan.FromMilliseconds(100), scheduler).Take(5).Select(i => Encoding.UTF8.GetBytes($"9.9{i}")),
                new StreamHandlerOptions { InCapacity = 0 }),
        }).Start();
        scheduler.AdvanceTo(Ms(10));
        var prices = scheduler.CreateObserver<string>();

        // grid.Stream is Connection.NewStream, with the stream's start and end in grid.Trace.
        grid.Stream("shop", "prices", ticker, options: new StreamOptions { Timeout = TimeSpan.FromMilliseconds(350) })
            .Select(Encoding.UTF8.GetString).Subscribe(prices);
        scheduler.AdvanceTo(Ms(1_000));

        // Opened at 10 ms, the handler starts at 11 ms: a price leaves every 100 ms and arrives 1 ms later. The deadline,
        // 350 ms after the open, cuts the stream after three. Each message shows four hand-offs (ticks): two on each side.
        prices.Messages.AssertEqual(
            OnNext(Ms(112) + (4 * Tick), "9.90"),
            OnNext(Ms(212) + (4 * Tick), "9.91"),
            OnNext(Ms(312) + (4 * Tick), "9.92"),
            OnError<string>(Ms(360) + Tick, e => e is DeadlineExceededException));
    }

    /// <summary>Virtual ticks of a number of milliseconds.</summary>
    private static long Ms(long ms) => TimeSpan.FromMilliseconds(ms).Ticks;
}
