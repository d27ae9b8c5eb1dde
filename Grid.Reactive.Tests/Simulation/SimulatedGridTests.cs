using System.Reactive.Concurrency;
using System.Text;
using Grid.Reactive.Testing;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>The testing surface itself: each fault of <see cref="SimulatedGrid"/>, its trace and its clock.</summary>
[Category("Simulation")]
public sealed class SimulatedGridTests
{
    private static readonly HandlerId StreamEcho = new(40);

    private InspectableTestScheduler _scheduler = null!;
    private SimulatedGrid _grid = null!;

    [SetUp]
    public void SetUp() => _scheduler = new InspectableTestScheduler();

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    private SimulatedGrid Grid(params string[] nodes)
    {
        _grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = nodes,
            Scheduler = _scheduler,
            Seed = 1,
            Configure = o => o with { PingInterval = TimeSpan.FromSeconds(1), PingTimeout = TimeSpan.FromSeconds(2) },
            Setup = node =>
            {
                RegisterBasics(node);
                node.Register(Hang, new Hanging(_scheduler).Serve);
                node.RegisterStream(StreamEcho, (_, incoming) => incoming);
            },
        }).Start();
        _grid.RunFor(TimeSpan.FromMilliseconds(10));
        return _grid;
    }

    private ITestableObserver<string> Call(string from, string to, HandlerId handler, TimeSpan? timeout = null)
    {
        var observer = _scheduler.CreateObserver<string>();
        _grid.Request(from, to, handler, Bytes("x"), timeout).Select(Text).Subscribe(observer);
        return observer;
    }

    [Test]
    public void RunFor_AdvancesTheTestSchedulerByExactlyTheSpan()
    {
        Grid("a", "b");

        _grid.RunFor(TimeSpan.FromMilliseconds(1.5));

        Assert.That(_scheduler.Clock, Is.EqualTo(Ms(11.5)));
        Assert.That(_grid.AllConnected, Is.True);
        Assert.That(_grid.RunUntil(() => _scheduler.Clock >= Ms(20), TimeSpan.FromSeconds(1)), Is.True);
        Assert.That(_scheduler.Clock, Is.EqualTo(Ms(21.5)), "in 10 ms steps");
    }

    [Test]
    public void Start_TracesEveryNodeAndEveryStateChange_StampedWithVirtualTime()
    {
        Grid("a", "b");

        var lines = _grid.Trace.Select(e => e.ToString()).ToList();

        Assert.That(lines, Does.Contain("0.00:00:00.0000000 NodeStarted a incarnation 0"));
        Assert.That(lines, Does.Contain("0.00:00:00.0000000 NodeStarted b incarnation 0"));
        Assert.That(lines.Count(l => l.Contains("Connected", StringComparison.Ordinal) && !l.Contains("NotConnected", StringComparison.Ordinal)), Is.EqualTo(2));
    }

    [Test]
    public void Request_IsTraced_FromItsStartToItsOneEnd()
    {
        Grid("a", "b");

        var call = Call("a", "b", Echo);
        _grid.RunFor(TimeSpan.FromMilliseconds(10));

        Assert.That(call.Messages, Is.EqualTo(new[] { OnNext(Ms(12) + (4 * Tick), "b:x"), OnCompleted<string>(Ms(12) + (4 * Tick)) }));
        Assert.That(_grid.Trace.Where(e => e.Kind is SimulationEventKind.CallStarted or SimulationEventKind.CallEnded).Select(e => e.ToString()),
            Is.EqualTo(new[]
            {
                "0.00:00:00.0100000 CallStarted a->b #1 handler 1",
                "0.00:00:00.0120004 CallEnded a->b #1 answered 3 bytes",
            }));
    }

    [Test]
    public void Stream_IsTraced_FromItsOpenToItsOneEnd_WithItsMessageCount()
    {
        Grid("a", "b", "c");
        var echoed = _scheduler.CreateObserver<string>();
        var stream = _grid.Stream("a", "b", StreamEcho);
        stream.Select(Text).Subscribe(echoed);
        stream.OnNext(Bytes("x"));
        stream.OnNext(Bytes("y"));
        stream.OnCompleted();
        var cancelled = _grid.Stream("a", "c", StreamEcho).Subscribe(_ => { });
        _grid.RunFor(TimeSpan.FromMilliseconds(10));
        cancelled.Dispose();
        _grid.Crash("c");
        _grid.Stream("a", "c", StreamEcho).Subscribe(_ => { }, _ => { });
        _grid.RunFor(TimeSpan.FromMilliseconds(1));

        Assert.That(echoed.Messages.Select(m => m.Value.ToString()), Is.EqualTo(new[] { "OnNext(x)", "OnNext(y)", "OnCompleted()" }));
        Assert.That(_grid.Trace.Where(e => e.Kind is SimulationEventKind.StreamStarted or SimulationEventKind.StreamEnded).Select(e => e.ToString()),
            Is.EqualTo(new[]
            {
                "0.00:00:00.0100000 StreamStarted a->b #1 handler 40",
                "0.00:00:00.0100000 StreamStarted a->c #2 handler 40",
                "0.00:00:00.0140008 StreamEnded a->b #1 completed after 2 messages", // the messages wait for the accept: a round trip
                "0.00:00:00.0200000 StreamEnded a->c #2 cancelled after 0 messages",
                "0.00:00:00.0200000 StreamStarted a->c #3 handler 40",
                "0.00:00:00.0200002 StreamEnded a->c #3 DisconnectedException after 0 messages", // the peer's reset, then the dispatch
            }));
        Assert.That(() => stream.Subscribe(_ => { }), Throws.InvalidOperationException, "a stream is subscribed once");
    }

    [Test]
    public void Stream_ReadWithReadAllAsync_IsTraced_AndLeavingEarlyCancelsIt()
    {
        Grid("a", "b");
        static async Task<List<string>> Read(IAsyncEnumerable<byte[]> messages, int most)
        {
            var read = new List<string>();
            await foreach (var message in messages)
            {
                read.Add(Text(message));
                if (read.Count == most)
                {
                    break;
                }
            }

            return read;
        }

        var whole = _grid.Stream("a", "b", StreamEcho);
        var early = _grid.Stream("a", "b", StreamEcho);
        var all = Read(whole.ReadAllAsync(), int.MaxValue);
        var first = Read(early.ReadAllAsync(), 1);
        foreach (var stream in new[] { whole, early })
        {
            stream.OnNext(Bytes("x"));
            stream.OnNext(Bytes("y"));
        }

        whole.OnCompleted();
        _grid.RunFor(TimeSpan.FromMilliseconds(10));

        Assert.That(all.IsCompletedSuccessfully && first.IsCompletedSuccessfully, "both readers ran in virtual time");
        Assert.That(all.Result, Is.EqualTo(new[] { "x", "y" }));
        Assert.That(first.Result, Is.EqualTo(new[] { "x" }));
        Assert.That(_grid.Trace.Where(e => e.Kind == SimulationEventKind.StreamEnded).Select(e => e.Detail),
            Is.EquivalentTo(new[] { "#1 completed after 2 messages", "#2 cancelled after 1 messages" }));
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero, "leaving early cancelled the stream on both sides");
    }

    [Test]
    public void Partition_CutsOnlyAcrossGroups_CallsAcrossFailAtOnce_AndHealAllReconnectsEveryPair()
    {
        Grid("a", "b", "c", "d");

        _grid.Partition(["a", "b"], ["c", "d"]);
        _grid.RunFor(TimeSpan.FromMilliseconds(1));

        Assert.That(_grid["a"].Connection("b").State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(_grid["c"].Connection("d").State, Is.EqualTo(ConnectionState.Connected));
        foreach (var (x, y) in new[] { ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d") })
        {
            Assert.That(_grid[x].Connection(y).State, Is.EqualTo(ConnectionState.Disconnected), $"{x}->{y}");
            Assert.That(_grid[y].Connection(x).State, Is.EqualTo(ConnectionState.Disconnected), $"{y}->{x}");
        }

        var across = Call("a", "c", Echo);
        Assert.That(across.Messages.Single().Value.Exception, Is.TypeOf<DisconnectedException>());

        _grid.HealAll();
        Assert.That(_grid.RunUntil(() => _grid.AllConnected, TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(_grid.Network.LiveLinkCount, Is.EqualTo(6));
    }

    [Test]
    public void Crash_FailsThePeersCallsAtOnce_AndTheRestartedNodeServesWhatItsSetupRegisters()
    {
        Grid("a", "b");
        var before = _grid["a"];
        var instanceBefore = _grid["b"].Connection("a").CurrentSession!.RemoteInstanceId;
        var hanging = Call("b", "a", Hang);
        _grid.RunFor(TimeSpan.FromMilliseconds(5));

        _grid.Crash("a");
        _grid.RunFor(TimeSpan.FromMilliseconds(5));

        // The link reset reaches b's reader one hand-off after the crash, and the failure its caller one more.
        Assert.That(hanging.Messages, Has.Count.EqualTo(1));
        Assert.That(hanging.Messages[0].Time, Is.EqualTo(Ms(15) + (2 * Tick)));
        Assert.That(hanging.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>());
        Assert.That(_grid.IsUp("a"), Is.False);
        Assert.That(Call("a", "b", Echo).Messages.Single().Value.Exception, Is.TypeOf<DisconnectedException>(), "a crashed node calls nobody");

        _grid.Start("a");
        Assert.That(_grid.RunUntil(() => _grid.AllConnected, TimeSpan.FromSeconds(10)), Is.True);
        var echo = Call("b", "a", Echo);
        _grid.RunFor(TimeSpan.FromMilliseconds(10));

        Assert.That(_grid["a"], Is.Not.SameAs(before));
        Assert.That(_grid.Incarnation("a"), Is.EqualTo(1));
        Assert.That(echo.Messages[0].Value.Value, Is.EqualTo("a:x"));
        Assert.That(_grid["b"].Connection("a").CurrentSession!.RemoteInstanceId, Is.Not.EqualTo(instanceBefore),
            "the restarted node is a new instance to its peers");
    }

    [Test]
    public void SilentCrash_LeavesThePeerHalfOpen_UntilItsPingTimeout()
    {
        Grid("a", "b");

        _grid.Crash("a", peersNotice: false);
        _grid.RunFor(TimeSpan.FromMilliseconds(1_900));
        var halfOpen = _grid["b"].Connection("a").State;
        _grid.RunFor(TimeSpan.FromMilliseconds(1_200));

        Assert.That(halfOpen, Is.EqualTo(ConnectionState.Connected), "b hears nothing, but nothing told it the link is gone");
        Assert.That(_grid["b"].Connection("a").State, Is.EqualTo(ConnectionState.Disconnected));
        Assert.That(_grid["b"].Connection("a").LastError!.Message, Does.Contain("No pong"));
    }

    [Test]
    public void HoldAndRelease_DelayTheAnswerWithoutLosingIt()
    {
        Grid("a", "b");

        _grid.Hold("b", "a");
        var call = Call("a", "b", Echo, TimeSpan.FromSeconds(5));
        _grid.RunFor(TimeSpan.FromMilliseconds(500));
        Assert.That(call.Messages, Is.Empty);

        _grid.Release("b", "a");
        _grid.RunFor(TimeSpan.FromMilliseconds(10));

        // Released at 510 ms: the held answer is delivered one hand-off later and dispatched one more.
        Assert.That(call.Messages, Is.EqualTo(new[] { OnNext(Ms(510) + (2 * Tick), "b:x"), OnCompleted<string>(Ms(510) + (2 * Tick)) }));
    }

    [Test]
    public void DropNext_LosesTheRequest_AndTheCallerTimesOutAtItsDeadline()
    {
        Grid("a", "b");

        _grid.DropNext("a", "b", 1);
        var call = Call("a", "b", Echo, TimeSpan.FromMilliseconds(300));
        _grid.RunFor(TimeSpan.FromSeconds(1));

        Assert.That(call.Messages.Single().Time, Is.EqualTo(Ms(310) + Tick), "at the deadline, delivered one hop later");
        Assert.That(call.Messages.Single().Value.Exception, Is.TypeOf<DeadlineExceededException>());
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero);
    }

    [Test]
    public void SetLatency_DelaysOneDirectionOnly()
    {
        Grid("a", "b");

        _grid.SetLatency("b", "a", TimeSpan.FromMilliseconds(100));
        var call = Call("a", "b", Echo);
        _grid.RunFor(TimeSpan.FromMilliseconds(200));

        Assert.That(call.Messages[0].Time, Is.EqualTo(Ms(10 + 1 + 100) + (4 * Tick)));
    }

    [Test]
    public async Task Dispose_ShutsEveryNodeDown_AndLeavesNothingScheduled()
    {
        Grid("a", "b", "c");
        Call("a", "b", Hang);
        _grid.RunFor(TimeSpan.FromMilliseconds(5));

        await _grid.DisposeAsync();
        _grid.RunFor(TimeSpan.FromSeconds(1));

        Assert.That(_scheduler.HasPendingWork, Is.False);
        Assert.That(_grid.Network.LiveLinkCount, Is.Zero);
    }

    [Test]
    public void Options_AreCheckedUpFront()
    {
        Assert.That(() => new SimulatedGrid(new SimulationOptions { Nodes = ["a"], Scheduler = _scheduler }), Throws.ArgumentException);
        Assert.That(() => new SimulatedGrid(new SimulationOptions { Nodes = ["a", "a"], Scheduler = _scheduler }), Throws.ArgumentException);
        _grid = new SimulatedGrid(new SimulationOptions { Nodes = ["a", "b"], Scheduler = _scheduler });
        Assert.That(() => _grid.Cut("a", "zz"), Throws.ArgumentException);
        Assert.That(() => _grid.Crash("a"), Throws.InvalidOperationException, "not started");
        Assert.That(() => new SimulatedGrid(new SimulationOptions { Nodes = ["a", "b"], Scheduler = Scheduler.Default }).RunFor(TimeSpan.FromSeconds(1)),
            Throws.InvalidOperationException.With.Message.Contains("SimulationOptions.Advance"));
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
