using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.Logging;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Streams;

/// <summary>
/// User observers of a stream that throw (a credit observer, a result observer subscribed with only onNext, whose
/// OnError rethrows) affect only themselves: the throw is logged, the connection and its other calls live on. On the
/// real default scheduler and in virtual time.
/// </summary>
public sealed class StreamUserCodeTests
{
    private static readonly HandlerId Sum = new(50);
    private static readonly HandlerId Broken = new(51);

    private static void Register(Manager node)
    {
        RegisterBasics(node);
        RegisterStreams(node);
    }

    private static void RegisterStreams(Manager node)
    {
        // A running count of the caller's messages; windows of 4, so credit comes back after every message.
        node.RegisterStream(Sum, (_, incoming) => incoming.Select((_, i) => Bytes($"{i + 1}")), new StreamHandlerOptions { InCapacity = 4, OutCapacity = 4 });

        // Two messages, then an error.
        node.RegisterStream(Broken, (_, _) => Observable.Range(1, 2).Select(i => Bytes($"{i}")).Concat(Observable.Throw<byte[]>(new InvalidOperationException("disk on fire"))));
    }

    /// <summary>Throws whenever the credit goes up (a grant, or the window at the accept).</summary>
    private sealed class ThrowingOnGrant : IObserver<int>
    {
        private readonly TaskCompletionSource _threw = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _last;
        private int _throws;

        public int Throws => Volatile.Read(ref _throws);

        /// <summary>Completes at the first throw (deliveries reach the observer through a hop of their own).</summary>
        public Task Threw => _threw.Task;

        public void OnNext(int value)
        {
            var last = _last;
            _last = value;
            if (value > last)
            {
                Interlocked.Increment(ref _throws);
                _threw.TrySetResult();
                throw new InvalidOperationException("credit observer bug");
            }
        }

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }

    private static bool Logged(CapturingLogger logger, string text) =>
        logger.Lines.Any(l => l.Level == LogLevel.Error && l.Text.Contains(text, StringComparison.Ordinal));

    // ---- the real default scheduler: real threads over loopback WebSockets ----

    private static async Task AssertStillServingAsync(RealGrid grid, List<ConnectionState> states)
    {
        var answer = await grid.From(0, 1).Request(Echo, Bytes("still there?")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(answer), Is.EqualTo($"{grid.Nodes[1].Address}:still there?"));
        Assert.That(grid.From(0, 1).State, Is.EqualTo(ConnectionState.Connected));
        lock (states)
        {
            Assert.That(states, Is.All.EqualTo(ConnectionState.Connected), "the connection never dropped");
        }
    }

    private static IDisposable Watch(Connection connection, List<ConnectionState> states) => connection.Subscribe(s =>
    {
        lock (states)
        {
            states.Add(s);
        }
    });

    [Test]
    public async Task Real_AThrowingCreditObserver_OnlyStopsItself_AndTheStreamAndTheConnectionGoOn()
    {
        await using var grid = await RealGrid.StartAsync(2, RegisterStreams);
        var states = new List<ConnectionState>();
        using var watchingState = Watch(grid.From(0, 1), states);
        var stream = grid.From(0, 1).NewStream(Sum);
        var observer = new ThrowingOnGrant();
        using var watching = stream.Credit.Subscribe(observer);
        var answers = stream.Select(Text).Take(12).ToList().ToTask();

        for (var i = 0; i < 12; i++)
        {
            await stream.SendAsync(Bytes("x")).AsTask().WaitAsync(RealGrid.Guard);
        }

        Assert.That(await answers.WaitAsync(RealGrid.Guard), Is.EqualTo(Enumerable.Range(1, 12).Select(i => $"{i}")), "every message went through its grants");
        await observer.Threw.WaitAsync(RealGrid.Guard);
        await AssertStillServingAsync(grid, states);
        Assert.That(observer.Throws, Is.EqualTo(1), "an observer that threw gets nothing more");
    }

    [Test]
    public async Task Real_AnOnNextOnlySubscriber_ToAStreamThatFails_AndTheConnectionGoesOn()
    {
        await using var grid = await RealGrid.StartAsync(2, RegisterStreams);
        var states = new List<ConnectionState>();
        using var watchingState = Watch(grid.From(0, 1), states);
        var received = new List<string>();
        var stream = grid.From(0, 1).NewStream(Broken);
        var ended = stream.Credit.LastOrDefaultAsync().ToTask(); // completes when the stream has ended
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = stream.Subscribe(m =>
        {
            lock (received)
            {
                received.Add(Text(m));
                if (received.Count == 2)
                {
                    both.TrySetResult();
                }
            }
        });

        // Its messages, then its error, which the subscriber's default OnError rethrows on the grid's thread.
        await both.Task.WaitAsync(RealGrid.Guard);
        await ended.WaitAsync(RealGrid.Guard);
        lock (received)
        {
            Assert.That(received, Is.EqualTo(new[] { "1", "2" }));
        }

        await AssertStillServingAsync(grid, states);
    }

    // ---- virtual time ----

    private static (VirtualGrid Grid, CapturingLogger Logger) StartVirtual()
    {
        var logger = new CapturingLogger();
        var grid = new VirtualGrid(["a", "b"], o => o with { Logger = logger });
        foreach (var name in grid.Names)
        {
            Register(grid.Start(name));
        }

        grid.RunMs(10);
        return (grid, logger);
    }

    private static void AssertStillServing(VirtualGrid grid)
    {
        var answer = grid.Scheduler.CreateObserver<byte[]>();
        grid["a"].Connection("b").Request(Echo, Bytes("still there?")).Subscribe(answer);
        grid.RunMs(10);
        Assert.That(answer.Messages.Select(m => m.Value.Kind), Is.EqualTo(new[] { System.Reactive.NotificationKind.OnNext, System.Reactive.NotificationKind.OnCompleted }));
        Assert.That(Text(answer.Messages[0].Value.Value), Is.EqualTo("b:still there?"));
        Assert.That(grid.AllConnected(), Is.True);
    }

    [Test]
    public async Task Virtual_AThrowingCreditObserver_IsLogged_AndTheStreamAndTheConnectionGoOn()
    {
        var (grid, logger) = StartVirtual();
        await using var _ = grid;
        var stream = grid["a"].Connection("b").NewStream(Sum);
        var observer = new ThrowingOnGrant();
        using var watching = stream.Credit.Subscribe(observer);
        var answers = grid.Scheduler.CreateObserver<string>();
        using var results = stream.Select(Text).Subscribe(answers);
        grid.RunMs(10);

        for (var i = 0; i < 12; i++)
        {
            stream.OnNext(Bytes("x"));
            grid.RunMs(5);
        }

        Assert.That(answers.Messages.Select(m => m.Value.Value), Is.EqualTo(Enumerable.Range(1, 12).Select(i => $"{i}")));
        Assert.That(observer.Throws, Is.EqualTo(1), "an observer that threw gets nothing more");
        Assert.That(Logged(logger, "credit observer bug"), Is.True);
        AssertStillServing(grid);
    }

    [Test]
    public async Task Virtual_AnOnNextOnlySubscriber_ToAStreamThatFails_IsLogged_AndTheConnectionGoesOn()
    {
        var (grid, logger) = StartVirtual();
        await using var _ = grid;
        var received = new List<string>();
        using var subscription = grid["a"].Connection("b").NewStream(Broken).Subscribe(m => received.Add(Text(m)));
        grid.RunMs(10);

        Assert.That(received, Is.EqualTo(new[] { "1", "2" }));
        Assert.That(Logged(logger, "disk on fire"), Is.True, "the rethrown stream error was logged");
        AssertStillServing(grid);
    }
}
