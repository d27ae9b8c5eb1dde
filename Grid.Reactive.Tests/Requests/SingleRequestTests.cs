using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Requests;

public sealed class SingleRequestTests
{
    private VirtualGrid _grid = null!;

    [SetUp]
    public void SetUp()
    {
        _grid = new VirtualGrid(["a", "b"]).StartAll();
        RegisterBasics(_grid["a"]);
        RegisterBasics(_grid["b"]);
        _grid.RunMs(10);
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    private ITestableObserver<string> Call(string from, string to, HandlerId handler, string payload, TimeSpan? timeout = null, string? subroute = null)
    {
        var observer = _grid.Scheduler.CreateObserver<string>();
        _grid[from].Connection(to).Request(handler, Bytes(payload), timeout, subroute).Select(Text).Subscribe(observer);
        return observer;
    }

    [Test]
    public void Request_BothWaysOnOneConnection_EachYieldsOneAnswerThenCompletes()
    {
        var ab = Call("a", "b", Echo, "ping");
        var ba = Call("b", "a", Echo, "pong");
        _grid.RunMs(10);

        // Sent at 10 ms, served at 11 ms, answered at 12 ms, plus the four hand-offs (see VirtualGrid).
        Assert.That(ab.Messages, Is.EqualTo(new[] { OnNext(Ms(12) + (4 * Tick), "b:ping"), OnCompleted<string>(Ms(12) + (4 * Tick)) }));
        Assert.That(ba.Messages, Is.EqualTo(new[] { OnNext(Ms(12) + (4 * Tick), "a:pong"), OnCompleted<string>(Ms(12) + (4 * Tick)) }));
    }

    [Test]
    public void Request_IsCold_NothingIsSentUntilSubscribed_AndEachSubscriptionSendsAgain()
    {
        var served = 0;
        var counted = new HandlerId(10);
        _grid["b"].Register(counted, (p, _) =>
        {
            served++;
            return ValueTask.FromResult(p);
        });
        var request = _grid["a"].Connection("b").Request(counted, Bytes("x"));
        _grid.RunMs(10);
        Assert.That(served, Is.Zero);

        request.Subscribe();
        request.Subscribe();
        _grid.RunMs(10);

        Assert.That(served, Is.EqualTo(2));
    }

    [Test]
    public void Request_EmptyAndLargePayloads_RoundTripIntact()
    {
        var big = new byte[3 * 1024 * 1024];
        new Random(5).NextBytes(big);
        var mirror = new HandlerId(11);
        _grid["b"].Register(mirror, (p, _) => ValueTask.FromResult(p));
        var empty = _grid.Scheduler.CreateObserver<byte[]>();
        var large = _grid.Scheduler.CreateObserver<byte[]>();

        _grid["a"].Connection("b").Request(mirror, []).Subscribe(empty);
        _grid["a"].Connection("b").Request(mirror, big).Subscribe(large);
        _grid.RunMs(10);

        Assert.That(empty.Messages[0].Value.Value, Is.Empty);
        Assert.That(large.Messages[0].Value.Value, Is.EqualTo(big));
    }

    [Test]
    public void Request_WhenRemoteThrows_ErrorsWithRemoteExceptionCarryingItsMessage()
    {
        var call = Call("a", "b", Fail, "now");
        _grid.RunMs(10);

        Assert.That(call.Messages, Has.Count.EqualTo(1));
        Assert.That(call.Messages[0].Time, Is.EqualTo(Ms(12) + (4 * Tick)));
        Assert.That(call.Messages[0].Value.Exception, Is.TypeOf<RemoteException>().With.Message.EqualTo("boom: now"));
    }

    [Test]
    public void Request_ToAnUnknownHandler_ErrorsWithHandlerNotFound()
    {
        var call = Call("a", "b", Missing, "?");
        _grid.RunMs(10);

        Assert.That(call.Messages[0].Value.Exception, Is.TypeOf<HandlerNotFoundException>()
            .With.Message.Contains("handler 99").And.Message.Contains("'b'"));
    }

    [Test]
    public void Request_WithSubroutes_ReachesTheHandlerOfThatSubroute()
    {
        var routed = new HandlerId(12);
        _grid["b"].Register(routed, (_, _) => ValueTask.FromResult(Bytes("disk1")), "disk1");
        _grid["b"].Register(routed, (_, _) => ValueTask.FromResult(Bytes("disk2")), "disk2");

        var one = Call("a", "b", routed, "", subroute: "disk1");
        var two = Call("a", "b", routed, "", subroute: "disk2");
        var none = Call("a", "b", routed, "", subroute: "disk3");
        var bare = Call("a", "b", routed, "");
        _grid.RunMs(10);

        Assert.That(one.Messages[0].Value.Value, Is.EqualTo("disk1"));
        Assert.That(two.Messages[0].Value.Value, Is.EqualTo("disk2"));
        Assert.That(none.Messages[0].Value.Exception, Is.TypeOf<HandlerNotFoundException>().With.Message.Contains("disk3"));
        Assert.That(bare.Messages[0].Value.Exception, Is.TypeOf<HandlerNotFoundException>());
    }

    [Test]
    public void Register_AfterTheConnectionIsUp_ServesFromThenOn_AndDisposingUnregisters()
    {
        var late = new HandlerId(13);
        var before = Call("a", "b", late, "x");
        _grid.RunMs(10);
        var registration = _grid["b"].Register(late, (p, _) => ValueTask.FromResult(p));
        var during = Call("a", "b", late, "x");
        _grid.RunMs(10);
        registration.Dispose();
        var after = Call("a", "b", late, "x");
        _grid.RunMs(10);

        Assert.That(before.Messages[0].Value.Exception, Is.TypeOf<HandlerNotFoundException>());
        Assert.That(during.Messages[0].Value.Value, Is.EqualTo("x"));
        Assert.That(after.Messages[0].Value.Exception, Is.TypeOf<HandlerNotFoundException>());
        Assert.Throws<InvalidOperationException>(() => _grid["b"].Register(Echo, (p, _) => ValueTask.FromResult(p)));
    }

    [Test]
    public void Request_WhenTheHandlerNeverAnswers_TimesOutAtTheDeadline_AndTheHandlerSeesItsTokenFire()
    {
        var hanging = new Hanging(_grid.Scheduler);
        _grid["b"].Register(Hang, hanging.Serve);

        var call = Call("a", "b", Hang, "x", TimeSpan.FromSeconds(5));
        _grid.RunMs(10_000);

        Assert.That(call.Messages, Has.Count.EqualTo(1));
        Assert.That(call.Messages[0].Time, Is.EqualTo(Ms(10 + 5000) + Tick), "at the deadline, delivered one hop later");
        Assert.That(call.Messages[0].Value.Exception, Is.TypeOf<DeadlineExceededException>().With.Message.Contains("5000 ms"));

        // The deadline travelled: the remote's own timer, armed on arrival (11 ms and the flush tick), fires 5 s later
        // and the cancellation is dispatched to the handler one tick after that.
        Assert.That(hanging.CancelledAt, Is.EqualTo(new[] { new DateTimeOffset(Ms(10 + 5000 + 1) + (2 * Tick), TimeSpan.Zero) }));
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero);
    }

    [Test]
    public void Request_ManyDeadlinesInterleaved_EachCallTimesOutAtItsOwnDeadline_AndAnsweredOnesNever()
    {
        _grid["b"].Register(Hang, new Hanging(_grid.Scheduler).Serve);
        var timeouts = new[] { 3000, 1000, 2000, 1000, 3000, 500 };
        var calls = new List<(long Started, int Timeout, ITestableObserver<string> Observer)>();
        foreach (var timeout in timeouts)
        {
            calls.Add((_grid.Scheduler.Clock, timeout, Call("a", "b", Hang, "x", TimeSpan.FromMilliseconds(timeout))));
            calls.Add((_grid.Scheduler.Clock, timeout, Call("a", "b", Echo, "y", TimeSpan.FromMilliseconds(timeout))));
            _grid.RunMs(100);
        }

        _grid.RunMs(5000);

        foreach (var (started, timeout, observer) in calls)
        {
            var ending = observer.Messages.Last();
            if (ending.Value.Kind == System.Reactive.NotificationKind.OnError)
            {
                Assert.That(ending.Time, Is.EqualTo(started + Ms(timeout) + Tick));
                Assert.That(ending.Value.Exception, Is.TypeOf<DeadlineExceededException>());
            }
            else
            {
                Assert.That(observer.Messages[0].Value.Value, Is.EqualTo("b:y"));
            }
        }

        Assert.That(calls.Count(c => c.Observer.Messages.Last().Value.Kind == System.Reactive.NotificationKind.OnError), Is.EqualTo(timeouts.Length));
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero);
    }

    [Test]
    public void Request_WithoutATimeout_UsesTheOneMinuteDefault()
    {
        _grid["b"].Register(Hang, new Hanging(_grid.Scheduler).Serve);

        var call = Call("a", "b", Hang, "x");
        _grid.Run(TimeSpan.FromMinutes(2));

        Assert.That(call.Messages[0].Time, Is.EqualTo(Ms(10) + TimeSpan.FromMinutes(1).Ticks + Tick));
        Assert.That(call.Messages[0].Value.Exception, Is.TypeOf<DeadlineExceededException>());
    }

    [Test]
    public void Dispose_CancelsTheCall_NoNotificationFollows_AndTheRemoteHandlerIsCancelled()
    {
        var hanging = new Hanging(_grid.Scheduler);
        _grid["b"].Register(Hang, hanging.Serve);
        var observer = _grid.Scheduler.CreateObserver<byte[]>();
        var subscription = _grid["a"].Connection("b").Request(Hang, Bytes("x")).Subscribe(observer);
        _grid.RunMs(5);

        subscription.Dispose();
        _grid.RunMs(5);

        Assert.That(observer.Messages, Is.Empty);
        Assert.That(hanging.CancelledAt, Is.EqualTo(new[] { new DateTimeOffset(Ms(16) + (2 * Tick), TimeSpan.Zero) }),
            "the cancel frame sent at 15 ms is flushed, lands at 16 ms and is dispatched to the handler");
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero);
        _grid.Run(TimeSpan.FromMinutes(2));
        Assert.That(observer.Messages, Is.Empty, "the deadline timer was disposed with the call");
    }

    [Test]
    public void Dispose_BeforeTheAnswerLands_DiscardsTheLateAnswer()
    {
        var observer = _grid.Scheduler.CreateObserver<byte[]>();
        var subscription = _grid["a"].Connection("b").Request(Echo, Bytes("x")).Subscribe(observer);

        // The answer is on the wire (served at 11 ms, landing at 12 ms) when the caller gives up.
        _grid.RunMs(1.5);
        subscription.Dispose();
        _grid.RunMs(10);

        Assert.That(observer.Messages, Is.Empty);
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero);
    }

    [Test]
    public async Task Request_WhenNotConnected_FailsAtOnceWithoutQueueing()
    {
        await using var lonely = new VirtualGrid(["a", "b"]);
        lonely.Start("a");
        var observer = lonely.Scheduler.CreateObserver<byte[]>();

        lonely["a"].Connection("b").Request(Echo, Bytes("x")).Subscribe(observer);

        Assert.That(observer.Messages, Has.Count.EqualTo(1));
        Assert.That(observer.Messages[0].Time, Is.Zero);
        Assert.That(observer.Messages[0].Value.Exception, Is.TypeOf<DisconnectedException>().With.Message.Contains("Not connected to 'b'"));
    }

    [Test]
    public void Request_ArgumentsOutOfRange_ThrowAtOnce()
    {
        var connection = _grid["a"].Connection("b");

        Assert.Throws<ArgumentException>(() => connection.Request(default, Bytes("x")));
        Assert.Throws<ArgumentException>(() => connection.Request(Echo, new byte[17 * 1024 * 1024]));
        Assert.Throws<ArgumentException>(() => connection.Request(Echo, Bytes("x"), subroute: ""));
        Assert.Throws<ArgumentOutOfRangeException>(() => connection.Request(Echo, Bytes("x"), TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HandlerId(0));
    }

    [Test]
    public void Request_ManyThousandsInFlight_AnsweredInReverseOrder_EachCallerGetsItsOwnAnswer()
    {
        const int count = 8_000; // under the default MaxCallsInFlight
        var pending = new Stack<(byte[] Payload, TaskCompletionSource<byte[]> Answer)>();
        var parked = new HandlerId(14);
        _grid["b"].Register(parked, (p, _) =>
        {
            var answer = new TaskCompletionSource<byte[]>();
            pending.Push((p, answer));
            return new ValueTask<byte[]>(answer.Task);
        });
        var results = new string?[count];
        var completions = 0;
        for (var i = 0; i < count; i++)
        {
            var index = i;
            _grid["a"].Connection("b").Request(parked, Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                .Subscribe(r => results[index] = Text(r), () => completions++);
        }

        _grid.RunMs(10);
        Assert.That(pending, Has.Count.EqualTo(count));
        while (pending.TryPop(out var call))
        {
            call.Answer.SetResult([.. Bytes("re:"), .. call.Payload]);
        }

        _grid.RunMs(10);
        Assert.That(completions, Is.EqualTo(count));
        Assert.That(results, Is.EqualTo(Enumerable.Range(0, count).Select(i => $"re:{i}")));
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero);
    }

    [Test]
    public void Register_ObservableHandler_AnswersWithItsFirstElement_AndIsDisposedOnCancel()
    {
        var delayed = new HandlerId(15);
        var unsubscribed = new List<long>();
        _grid["b"].Register(delayed, p => Observable.Return(p).Delay(TimeSpan.FromSeconds(1), _grid.Scheduler)
            .Finally(() => unsubscribed.Add(_grid.Scheduler.Clock)));

        var answered = Call("a", "b", delayed, "slow");
        _grid.RunMs(2000);
        var observer = _grid.Scheduler.CreateObserver<byte[]>();
        var cancelled = _grid["a"].Connection("b").Request(delayed, Bytes("x")).Subscribe(observer);
        _grid.RunMs(100);
        cancelled.Dispose();
        _grid.RunMs(2000);

        // The handler's task completes asynchronously, so its answer resumes on the scheduler: one tick more than a
        // synchronous handler's four.
        Assert.That(answered.Messages, Is.EqualTo(new[] { OnNext(Ms(1012) + (5 * Tick), "slow"), OnCompleted<string>(Ms(1012) + (5 * Tick)) }));
        Assert.That(observer.Messages, Is.Empty);
        Assert.That(unsubscribed, Is.EqualTo(new[] { Ms(1011) + (2 * Tick), Ms(2111) + (2 * Tick) }));
    }

    [Test]
    public void FramesOutAndIn_TraceTheRequestAndItsAnswer()
    {
        var outgoing = new List<Frame>();
        var incoming = new List<Frame>();
        var connection = _grid["a"].Connection("b");
        using var traceOut = connection.FramesOut.Subscribe(outgoing.Add);
        using var traceIn = connection.FramesIn.Subscribe(incoming.Add);

        Call("a", "b", Echo, "traced");
        _grid.RunMs(5);

        var request = outgoing.Single(f => f.Op == Op.Request);
        Assert.That(request.HandlerId, Is.EqualTo(Echo.Value));
        Assert.That(request.DeadlineMs, Is.EqualTo(60_000));
        var response = incoming.Single(f => f.Op == Op.Response);
        Assert.That(response.MuxId, Is.EqualTo(request.MuxId));
        Assert.That(response.Payload.Length, Is.EqualTo(Bytes("b:traced").Length));
    }

    [Test]
    public async Task Checksums_WhenEnabled_AreSentAndVerified()
    {
        await using var grid = new VirtualGrid(["a", "b"], o => o with { Checksums = true }).StartAll();
        RegisterBasics(grid["b"]);
        grid.RunMs(10);
        var incoming = new List<FrameFlags>();
        using var trace = grid["a"].Connection("b").FramesIn.Subscribe(f => incoming.Add(f.Flags));
        var answer = grid.Scheduler.CreateObserver<string>();

        grid["a"].Connection("b").Request(Echo, Bytes("sum")).Select(Text).Subscribe(answer);
        grid.RunMs(5);

        Assert.That(answer.Messages[0].Value.Value, Is.EqualTo("b:sum"));
        Assert.That(incoming, Has.All.Matches<FrameFlags>(f => (f & FrameFlags.Checksum) != 0));
    }
}
