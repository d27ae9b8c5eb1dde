using Grid.Reactive.Testing;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// <see cref="SimulatedGrid"/> with a membership that changes while it runs (<see cref="SimulationOptions.Members"/>):
/// nodes join and leave a running simulation with calls in flight, and views that disagree for a while.
/// </summary>
[Category("Simulation")]
public sealed class SimulatedGridMembershipTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    private InspectableTestScheduler _scheduler = null!;
    private SimulatedGrid _grid = null!;
    private Hanging _hanging = null!;

    [SetUp]
    public void SetUp()
    {
        _scheduler = new InspectableTestScheduler();
        _hanging = new Hanging(_scheduler);
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    private SimulatedGrid Grid(string[] nodes, string[]? members, int seed = 1)
    {
        _grid = new SimulatedGrid(new SimulationOptions
        {
            Nodes = nodes,
            Members = members,
            Scheduler = _scheduler,
            Seed = seed,
            Configure = o => o with { MembershipGracePeriod = Grace, Reconnect = o.Reconnect with { MaxDelay = TimeSpan.FromSeconds(1) } },
            Setup = node =>
            {
                RegisterBasics(node);
                node.Register(Hang, _hanging.Serve);
            },
        });
        return _grid;
    }

    private ITestableObserver<string> Call(string from, string to, HandlerId handler)
    {
        var observer = _scheduler.CreateObserver<string>();
        _grid.Request(from, to, handler, Bytes("x"), TimeSpan.FromMinutes(10)).Select(Text).Subscribe(observer);
        return observer;
    }

    private string? Answer(string from, string to)
    {
        var call = Call(from, to, Echo);
        _grid.RunFor(TimeSpan.FromMilliseconds(20));
        return call.Messages is [{ Value.HasValue: true } answer, ..] ? answer.Value.Value : null;
    }

    [Test]
    public void ANodeThatJoins_IsConnectedToEveryMember_AndServesThem()
    {
        Grid(["a", "b", "c", "d"], ["a", "b", "c"]);
        _grid.Start("a");
        _grid.Start("b");
        _grid.Start("c");
        Assert.That(_grid.RunUntil(() => _grid.AllConnected, TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(Answer("a", "d"), Is.Null, "d is not a member yet");

        _grid.Start("d");
        _grid.SetMembers(["a", "b", "c", "d"]);

        Assert.That(_grid.RunUntil(() => _grid.AllConnected && _grid["a"].Connections.Count == 3, TimeSpan.FromSeconds(5)), Is.True);
        foreach (var node in new[] { "a", "b", "c" })
        {
            Assert.That(Answer(node, "d"), Is.EqualTo("d:x"), node + " -> d");
            Assert.That(Answer("d", node), Is.EqualTo(node + ":x"), "d -> " + node);
        }

        Assert.That(_grid.Trace.Count(e => e.Kind == SimulationEventKind.Membership), Is.EqualTo(4), "one view change per node");
    }

    [Test]
    public void ANodeThatLeaves_FailsTheCallsInFlightToIt_AndLaterCallsAtOnce_WithoutHangingAny()
    {
        Grid(["a", "b", "c"], ["a", "b", "c"]).Start();
        Assert.That(_grid.RunUntil(() => _grid.AllConnected, TimeSpan.FromSeconds(5)), Is.True);
        var inFlight = Call("a", "c", Hang);
        _grid.RunFor(TimeSpan.FromMilliseconds(20));
        Assert.That(inFlight.Messages, Is.Empty, "the call is in flight, its handler holding it");

        _grid.SetMembers(["a", "b"]);
        _grid.RunFor(Grace + TimeSpan.FromMilliseconds(50));

        Assert.That(inFlight.Messages, Has.Count.EqualTo(1));
        Assert.That(inFlight.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>(), "failed, not left hanging");
        var later = Call("a", "c", Echo);
        Assert.That(later.Messages, Has.Count.EqualTo(1), "fails at once");
        Assert.That(later.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>().With.Message.Contains("not a member"));
        Assert.That(_grid["a"].Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { "b" }));
        Assert.That(Answer("a", "b"), Is.EqualTo("b:x"), "the members still talk");
        Assert.That(_hanging.CancelledAt, Has.Count.EqualTo(1), "the handler on the node that left was cancelled");
    }

    [Test]
    public void ANodeToldOfANewcomerLate_ConnectsOnceItsViewCatchesUp()
    {
        Grid(["a", "b", "c"], ["a", "b"]);
        _grid.Start("a");
        _grid.Start("b");
        Assert.That(_grid.RunUntil(() => _grid.AllConnected, TimeSpan.FromSeconds(5)), Is.True);

        // c and a learn of c now; b only two seconds later (a slow source), so b <-> c waits for b's view.
        _grid.SetMembers("c", ["a", "b", "c"]);
        _grid.SetMembers("a", ["a", "b", "c"]);
        _grid.Start("c");
        _grid.RunFor(TimeSpan.FromSeconds(2));
        Assert.That(Answer("a", "c"), Is.EqualTo("c:x"));
        Assert.That(Answer("b", "c"), Is.Null, "b does not know c yet");
        Assert.That(_grid.Members("b"), Is.EqualTo(new[] { "a", "b" }));

        _grid.SetMembers("b", ["a", "b", "c"]);

        Assert.That(_grid.RunUntil(() => Answer("b", "c") == "c:x", TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(Answer("c", "b"), Is.EqualTo("b:x"));
    }

    [Test]
    public void ARestartedNode_SeesTheMembershipAsItIsNow()
    {
        Grid(["a", "b", "c"], ["a", "b", "c"]).Start();
        Assert.That(_grid.RunUntil(() => _grid.AllConnected, TimeSpan.FromSeconds(5)), Is.True);

        _grid.Crash("a");
        _grid.SetMembers(["a", "b"]);
        _grid.RunFor(Grace + TimeSpan.FromMilliseconds(50));
        _grid.Start("a");

        Assert.That(_grid.RunUntil(() => _grid.AllConnected, TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(_grid["a"].Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { "b" }));
        Assert.That(Answer("a", "b"), Is.EqualTo("b:x"));
    }

    [Test]
    public void AMembershipRun_ReplaysFromItsSeed()
    {
        string[] Run()
        {
            Grid(["a", "b", "c", "d"], ["a", "b", "c"], seed: 7);
            _grid.Start();
            _grid.RunFor(TimeSpan.FromMilliseconds(300));
            _grid.SetMembers(["a", "b", "c", "d"]);
            var calls = Enumerable.Range(0, 20).Select(i => Call(i % 2 == 0 ? "a" : "d", i % 3 == 0 ? "c" : "b", Echo)).ToList();
            _grid.RunFor(TimeSpan.FromSeconds(3));
            _grid.SetMembers(["a", "b", "d"]);
            _grid.RunFor(TimeSpan.FromSeconds(3));
            string[] trace = [.. _grid.Trace.Select(e => e.ToString())];
            _grid.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return trace;
        }

        var first = Run();
        _scheduler = new InspectableTestScheduler();
        var second = Run();

        Assert.That(second, Is.EqualTo(first));
        Assert.That(first.Count(l => l.Contains("ShutDown", StringComparison.Ordinal)), Is.GreaterThan(0), "c was retired");
    }

    [Test]
    public void MembersMustBeNodesOfTheGrid_AndAGridOfFixedRemotesHasNoMembershipToChange()
    {
        Grid(["a", "b"], ["a", "b"]);
        Assert.That(() => _grid.SetMembers(["a", "x"]), Throws.ArgumentException.With.Message.Contains("'x' is not"));
        Assert.That(() => _grid.SetMembers("x", ["a"]), Throws.ArgumentException.With.Message.Contains("'x' is not a node"));
        _grid.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Grid(["a", "b"], members: null);
        Assert.That(() => _grid.SetMembers(["a"]), Throws.InvalidOperationException.With.Message.Contains("SimulationOptions.Members"));
        Assert.That(_grid.Members("a"), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(() => new SimulatedGrid(new SimulationOptions { Nodes = ["a", "b"], Members = ["c"], Scheduler = _scheduler }),
            Throws.ArgumentException.With.Message.Contains("'c' is not"));
    }
}
