using System.Reactive.Linq;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;

namespace Grid.Reactive.Tests.Handlers;

/// <summary>What a handler sees of its call through <see cref="RequestContext"/>, in virtual time.</summary>
public sealed class RequestContextTests
{
    private static readonly HandlerId Watched = new(60);
    private static readonly HandlerId WatchedStream = new(61);

    private VirtualGrid _grid = null!;

    [SetUp]
    public void SetUp()
    {
        _grid = new VirtualGrid(["a", "b"]).StartAll();
        _grid.RunMs(10);
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    [Test]
    public void Context_ShowsTheCaller_TheHandlerAndSubroute_AndTheDeadlineOnTheGridsClock()
    {
        RequestContext? seen = null;
        TimeSpan remainingWhenCalled = default;
        var never = new TaskCompletionSource<byte[]>();
        _grid["b"].Register(Watched, (context, _) =>
        {
            seen = context;
            remainingWhenCalled = context.RemainingTime;
            return new ValueTask<byte[]>(never.Task);
        }, "disk-2");

        var sentAt = _grid.Scheduler.Clock;
        var answer = _grid["a"].Connection("b").RequestAsync(Watched, Bytes("x"), TimeSpan.FromSeconds(5), "disk-2");
        _grid.RunMs(10);

        Assert.That(seen, Is.Not.Null, "the handler ran");
        Assert.That(seen!.RemoteAddress, Is.EqualTo("a"));
        Assert.That(seen.Handler, Is.EqualTo(Watched));
        Assert.That(seen.Subroute, Is.EqualTo("disk-2"));

        // The request arrives after a flush and a 1 ms hop; its 5 s run from there. The handler runs one dispatch later.
        var arrived = sentAt + Tick + Ms(1);
        Assert.That(seen.Deadline, Is.EqualTo(new DateTimeOffset(arrived + TimeSpan.FromSeconds(5).Ticks, TimeSpan.Zero)));
        Assert.That(remainingWhenCalled, Is.EqualTo(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(Tick)));

        _grid.Scheduler.AdvanceTo(sentAt + TimeSpan.FromSeconds(3).Ticks);
        Assert.That(seen.RemainingTime, Is.EqualTo(TimeSpan.FromSeconds(2) + TimeSpan.FromMilliseconds(1) + TimeSpan.FromTicks(Tick)));
        Assert.That(seen.CancellationToken.IsCancellationRequested, Is.False);

        _grid.Run(TimeSpan.FromSeconds(3));
        Assert.That(seen.RemainingTime, Is.EqualTo(TimeSpan.Zero));
        Assert.That(seen.CancellationToken.IsCancellationRequested, Is.True, "the context's token is the handler's: it fired at the deadline");
        Assert.That(answer.Exception?.InnerException, Is.TypeOf<DeadlineExceededException>());
    }

    [Test]
    public void Context_OfAHandlerWithoutSubroute_HasNone()
    {
        RequestContext? seen = null;
        _grid["b"].Register(Watched, (context, payload) =>
        {
            seen = context;
            return ValueTask.FromResult(payload);
        });

        var answer = _grid["a"].Connection("b").RequestAsync(Watched, Bytes("x"));
        _grid.RunMs(10);

        Assert.That(answer.Result, Is.EqualTo(Bytes("x")));
        Assert.That(seen!.Subroute, Is.Null);
        Assert.That(seen.RemainingTime, Is.GreaterThan(TimeSpan.Zero), "the manager's default deadline applies");
    }

    [Test]
    public void StreamContext_ShowsTheCaller_Subroute_AndTheStreamsDeadline_OrNone()
    {
        var seen = new List<RequestContext>();
        _grid["b"].RegisterStream(WatchedStream, (stream, _) =>
        {
            seen.Add(stream.Context);
            return Task.CompletedTask;
        }, new StreamHandlerOptions { InCapacity = 0 }, "disk-3");

        var sentAt = _grid.Scheduler.Clock;
        _grid["a"].Connection("b").NewStream(WatchedStream, options: new StreamOptions { Timeout = TimeSpan.FromSeconds(2) }, subroute: "disk-3").Subscribe(_ => { }, _ => { });
        _grid["a"].Connection("b").NewStream(WatchedStream, subroute: "disk-3").Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);

        Assert.That(seen, Has.Count.EqualTo(2));
        Assert.That(seen.Select(c => (c.RemoteAddress, c.Handler, c.Subroute)), Is.All.EqualTo(("a", WatchedStream, "disk-3")));
        Assert.That(seen[0].Deadline, Is.EqualTo(new DateTimeOffset(sentAt + Tick + Ms(1) + TimeSpan.FromSeconds(2).Ticks, TimeSpan.Zero)));
        Assert.That(seen[1].Deadline, Is.Null);
        Assert.That(seen[1].RemainingTime, Is.EqualTo(Timeout.InfiniteTimeSpan));
    }

    [Test]
    public void RxStreamWithContext_SeesTheCaller_Subroute_AndDeadline_AndServesThePayload()
    {
        var seen = new List<RequestContext>();
        _grid["b"].RegisterStream(WatchedStream, (context, payload, incoming) =>
        {
            seen.Add(context);
            return Observable.Return(Bytes(context.Subroute + ":" + Text(payload)));
        }, new StreamHandlerOptions { InCapacity = 0 }, "disk-3");

        var sentAt = _grid.Scheduler.Clock;
        var messages = new List<string>();
        _grid["a"].Connection("b").NewStream(WatchedStream, Bytes("x"), new StreamOptions { Timeout = TimeSpan.FromSeconds(2) }, "disk-3")
            .Subscribe(m => messages.Add(Text(m)), _ => { });
        _grid.RunMs(10);

        Assert.That(messages, Is.EqualTo(new[] { "disk-3:x" }));
        var context = seen.Single();
        Assert.That((context.RemoteAddress, context.Handler, context.Subroute), Is.EqualTo(("a", WatchedStream, "disk-3")));
        Assert.That(context.Deadline, Is.EqualTo(new DateTimeOffset(sentAt + Tick + Ms(1) + TimeSpan.FromSeconds(2).Ticks, TimeSpan.Zero)));
    }

    [Test]
    public void RxStreamWithContext_ItsTokenFires_WhenTheCallerCancels_AndItsSubscriptionIsDisposed()
    {
        RequestContext? seen = null;
        var disposed = false;
        _grid["b"].RegisterStream(WatchedStream, (context, _, _) =>
        {
            seen = context;
            return Observable.Create<byte[]>(_ => () => disposed = true);
        });

        var stream = _grid["a"].Connection("b").NewStream(WatchedStream).Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);
        Assert.That(seen, Is.Not.Null, "the handler ran");
        Assert.That(seen!.Deadline, Is.Null, "the caller set no timeout");
        Assert.That(seen.CancellationToken.IsCancellationRequested, Is.False);

        stream.Dispose();
        _grid.RunMs(10);

        Assert.That(seen.CancellationToken.IsCancellationRequested, Is.True);
        Assert.That(disposed, Is.True);
    }

    [Test]
    public void TypedRxStreamWithContext_OneFunctionServesEverySubroute()
    {
        var walk = new TypedStream<int, int, string>(new HandlerId(62), new StreamHandlerOptions { InCapacity = 0 });
        foreach (var disk in new[] { "disk-1", "disk-2" })
        {
            walk.Register(_grid["b"], (limit, _, context) =>
                Observable.Range(1, limit).Select(i => $"{context.Subroute}/{i} from {context.RemoteAddress}"), disk);
        }

        var messages = new List<string>();
        walk.Open(_grid["a"].Connection("b"), 2, subroute: "disk-2").Subscribe(messages.Add, _ => { });
        _grid.RunMs(10);

        Assert.That(messages, Is.EqualTo(new[] { "disk-2/1 from a", "disk-2/2 from a" }));
    }
}
