using Grid.Reactive.Testing;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// Two nodes whose message size limits differ, now that the in-memory network enforces each receiver's own limit as a
/// WebSocket does: what a node may send is not what its peer may receive.
/// </summary>
[Category("Simulation")]
public sealed class OversizedMessageTests
{
    private const int SmallLimit = 64 * 1024;
    private static readonly HandlerId Big = new(50);

    private InspectableTestScheduler _scheduler = null!;
    private SimulatedGrid _grid = null!;

    [SetUp]
    public void SetUp()
    {
        _scheduler = new InspectableTestScheduler();

        // a accepts 64 KiB at most, b the default 16 MiB; b's Big answers 100 kB to anything.
        _grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = ["a", "b"],
            Scheduler = _scheduler,
            Seed = 1,
            Configure = o => o with
            {
                PingInterval = TimeSpan.FromSeconds(1),
                PingTimeout = TimeSpan.FromSeconds(2),
                MaxMessageSize = o.Address == "a" ? SmallLimit : o.MaxMessageSize,
            },
            Setup = node =>
            {
                RegisterBasics(node);
                node.Register(Big, (_, _) => ValueTask.FromResult(new byte[100_000]));
            },
        }).Start();
        _grid.RunFor(TimeSpan.FromMilliseconds(10));
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    [Test]
    public void AnAnswerOverTheCallersLimit_FailsOnlyThatCall_AndTheConnectionStaysUp()
    {
        var big = Call("a", "b", Big);
        var echo = Call("a", "b", Echo);
        _grid.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.That(big.Messages.Last().Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnError));
        Assert.That(big.Messages.Last().Value.Exception, Is.TypeOf<MessageTooLargeException>());
        Assert.That(echo.Messages.First().Value.Value, Is.EqualTo("b:x"));
        Assert.That(_grid.Trace.Where(e => e.Kind == SimulationEventKind.ConnectionState && e.Time > _scheduler.Now.AddMilliseconds(-100)), Is.Empty,
            "neither side's connection changed state");
    }

    [Test]
    public void ARequestOverTheCalleesLimit_FailsOnlyThatCall_AndTheConnectionStaysUp()
    {
        var big = _scheduler.CreateObserver<byte[]>();
        _grid.Request("b", "a", Echo, new byte[100_000], TimeSpan.FromSeconds(1)).Subscribe(big);
        var echo = Call("b", "a", Echo);
        _grid.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.That(big.Messages.Last().Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnError));
        Assert.That(big.Messages.Last().Value.Exception, Is.TypeOf<MessageTooLargeException>());
        Assert.That(echo.Messages.First().Value.Value, Is.EqualTo("a:x"));
        Assert.That(_grid.Trace.Where(e => e.Kind == SimulationEventKind.ConnectionState && e.Time > _scheduler.Now.AddMilliseconds(-100)), Is.Empty,
            "neither side's connection changed state");
    }

    private ITestableObserver<string> Call(string from, string to, HandlerId handler)
    {
        var observer = _scheduler.CreateObserver<string>();
        _grid.Request(from, to, handler, Bytes("x"), TimeSpan.FromSeconds(1)).Select(Text).Subscribe(observer);
        return observer;
    }
}
