using System.Reactive.Concurrency;
using System.Text;
using Grid.Reactive.Testing;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>The grid's capacity faults: bandwidth per direction and nodes that stop reading, with their traces.</summary>
[Category("Simulation")]
public sealed class SimulatedGridCapacityTests
{
    private InspectableTestScheduler _scheduler = null!;
    private SimulatedGrid _grid = null!;

    [SetUp]
    public void SetUp() => _scheduler = new InspectableTestScheduler();

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    private SimulatedGrid Grid(bool traceFrames = false, long? defaultBandwidth = null)
    {
        _grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = ["a", "b"],
            Scheduler = _scheduler,
            Seed = 1,
            TraceFrames = traceFrames,
            DefaultBandwidth = defaultBandwidth,
            Configure = o => o with { PingInterval = TimeSpan.FromSeconds(1), PingTimeout = TimeSpan.FromSeconds(2) },
            Setup = RegisterBasics,
        }).Start();
        _grid.RunFor(TimeSpan.FromMilliseconds(10));
        return _grid;
    }

    /// <summary>Calls a's echo at b after <paramref name="delay"/>, with <paramref name="name"/> padded to <paramref name="size"/> bytes.</summary>
    private ITestableObserver<string> CallLater(TimeSpan delay, string name, int size)
    {
        var observer = _scheduler.CreateObserver<string>();
        _scheduler.Schedule(delay, () => _grid.Request("a", "b", Echo, Bytes(name.PadRight(size, '.')), TimeSpan.FromSeconds(5))
            .Select(b => Text(b).TrimEnd('.')).Subscribe(observer));
        return observer;
    }

    [Test]
    public void SetBandwidth_DelaysALargeAnswerBySizeOverBandwidth_AndTheFramesBehindIt_AndIsTraced()
    {
        Grid();
        _grid.SetBandwidth("b", "a", 100_000);

        var large = CallLater(TimeSpan.Zero, "large", 50_000);
        var small = CallLater(TimeSpan.FromMilliseconds(10), "small", 10);
        _grid.RunFor(TimeSpan.FromSeconds(2));

        // The request reaches b in about a millisecond; its 50 kB answer then takes 500 ms on the wire back. The small
        // answer, ready at about 21 ms, waits in b's queue until the wire is free.
        Assert.That(large.Messages[0].Value.Value, Is.EqualTo("b:large"));
        Assert.That(large.Messages[0].Time, Is.InRange(Ms(10 + 500), Ms(10 + 520)));
        Assert.That(small.Messages[0].Value.Value, Is.EqualTo("b:small"));
        Assert.That(small.Messages[0].Time, Is.GreaterThanOrEqualTo(large.Messages[0].Time).And.GreaterThan(Ms(10 + 500)), "it waited behind the large answer");
        Assert.That(_grid.Trace.Select(e => e.ToString()), Does.Contain("0.00:00:00.0100000 Fault b->a bandwidth 100000 B/s"));

        _grid.SetBandwidth("b", "a", null);
        Assert.That(_grid.Trace[^1].Detail, Is.EqualTo("bandwidth default"));
    }

    [Test]
    public void StopReading_StopsTheSendersLinkAtTheWindow_ItsFramesWaitInItsQueue_AndResumeReadingDeliversThemInOrder()
    {
        Grid(traceFrames: true);
        _grid.StopReading("b", "a", window: 4096);

        // One 2 kB request every 10 ms: each travels alone, and the link takes them while fewer than 4,096 bytes are unread.
        var calls = Enumerable.Range(0, 10).Select(i => CallLater(TimeSpan.FromMilliseconds(10 * i), $"call {i}", 2000)).ToList();
        _grid.RunFor(TimeSpan.FromMilliseconds(500));

        Assert.That(RequestsWritten(), Is.EqualTo(3), "0, then about 2,000, then about 4,000 bytes unread: then the window is full");
        Assert.That(calls.Sum(c => c.Messages.Count), Is.Zero);

        _grid.ResumeReading("b", "a");
        _grid.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.That(RequestsWritten(), Is.EqualTo(10));
        Assert.That(calls.Select(c => c.Messages[0].Value.Value), Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"b:call {i}")));
        Assert.That(calls.Select(c => c.Messages[0].Time), Is.Ordered);
        Assert.That(calls[0].Messages[0].Time, Is.GreaterThan(Ms(510)));
        var faults = _grid.Trace.Where(e => e.Node == "b" && e.Remote == "a" && e.Kind is SimulationEventKind.Fault or SimulationEventKind.Heal)
            .Select(e => $"{e.Kind} {e.Detail}");
        Assert.That(faults, Is.EqualTo(new[] { "Fault stop reading (window 4096 bytes)", "Heal resume reading" }));
    }

    [Test]
    public void ReadSlowly_IsTraced_AndHealAllEndsIt_AndDefaultBandwidthReachesTheNetwork()
    {
        Grid(defaultBandwidth: 1_000_000);
        _grid.ReadSlowly("a", "b", 1000);
        var call = CallLater(TimeSpan.Zero, "slowly", 2000);
        _grid.RunFor(TimeSpan.FromMilliseconds(500));
        Assert.That(call.Messages, Is.Empty, "a reads its 2 kB answer at 1,000 bytes a second");

        _grid.HealAll();
        _grid.RunFor(TimeSpan.FromMilliseconds(10));

        Assert.That(call.Messages[0].Value.Value, Is.EqualTo("b:slowly"));
        Assert.That(call.Messages[0].Time, Is.LessThan(Ms(520)));
        Assert.That(_grid.Trace.Select(e => e.ToString()), Does.Contain("0.00:00:00.0100000 Fault a->b read slowly 1000 B/s (window 65536 bytes)"));
        Assert.That(_grid.Network.DefaultBandwidth, Is.EqualTo(1_000_000));
        Assert.That(() => _grid.StopReading("a", "a"), Throws.ArgumentException);
    }

    private int RequestsWritten() =>
        _grid.Trace.Count(e => e.Kind == SimulationEventKind.Frame && e.Node == "a" && e.Detail.StartsWith("Request ", StringComparison.Ordinal));

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
