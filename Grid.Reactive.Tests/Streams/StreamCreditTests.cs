using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;

namespace Grid.Reactive.Tests.Streams;

/// <summary>What <see cref="ClientStream.Credit"/> and <see cref="ServerStream.Credit"/> show, in virtual time.</summary>
public sealed class StreamCreditTests
{
    private static readonly HandlerId Sink = new(40);
    private static readonly HandlerId Watcher = new(41);

    private VirtualGrid _grid = null!;
    private ITestableObserver<int> _handlerCredit = null!;

    [SetUp]
    public void SetUp()
    {
        _grid = new VirtualGrid(["a", "b"]).StartAll();
        _handlerCredit = _grid.Scheduler.CreateObserver<int>();

        // Takes the caller's messages and never answers; windows of 8 both ways.
        _grid["b"].RegisterStream(Sink, (_, incoming) => incoming.IgnoreElements(), new StreamHandlerOptions { InCapacity = 8, OutCapacity = 8 });

        // Watches its own credit to the caller, sends one message, then waits for the caller to end.
        _grid["b"].RegisterStream(Watcher, async (stream, cancellationToken) =>
        {
            using var watching = stream.Credit.Subscribe(_handlerCredit);
            await stream.SendAsync(Bytes("hello"), cancellationToken);
            await foreach (var _ in stream.ReadAllAsync(cancellationToken))
            {
            }
        }, new StreamHandlerOptions { InCapacity = 4, OutCapacity = 5 });
        _grid.RunMs(10);
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    [Test]
    public void ClientCredit_ShowsNothingBeforeTheAccept_ThenTheHandlersWindow_ThenEachSend()
    {
        var stream = _grid["a"].Connection("b").NewStream(Sink);
        var credit = _grid.Scheduler.CreateObserver<int>();
        using var watching = stream.Credit.Subscribe(credit);
        using var results = stream.Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);

        stream.OnNext(Bytes("1"));
        _grid.RunMs(10);

        // Subscribed at 10 ms; the accept arrives a round trip later (flush, hop, dispatch to the handler, flush, hop),
        // and each value reaches the observer one dispatch after it changed.
        credit.Messages.AssertEqual(
            OnNext(Ms(10) + Tick, 0),
            OnNext(Ms(12) + 4 * Tick, 8),
            OnNext(Ms(20) + Tick, 7));
    }

    [Test]
    public void ServerCredit_ShowsTheCallersWindowOnceTheStreamIsAccepted_ThenEachSend()
    {
        var stream = _grid["a"].Connection("b").NewStream(Watcher);
        var received = _grid.Scheduler.CreateObserver<byte[]>();
        using var results = stream.Subscribe(received);
        _grid.RunMs(10);

        // The handler runs one dispatch after the open arrived (11 ms) and subscribes before the accept; it sends once,
        // and the caller's grant for that message comes back a round trip later.
        _handlerCredit.Messages.AssertEqual(
            OnNext(Ms(11) + 3 * Tick, 0),
            OnNext(Ms(11) + 3 * Tick, 5),
            OnNext(Ms(11) + 3 * Tick, 4),
            OnNext(Ms(13) + 6 * Tick, 5));
        Assert.That(received.Messages.Select(m => Text(m.Value.Value)), Is.EqualTo(new[] { "hello" }));
    }

    private static Recorded<System.Reactive.Notification<int>> OnNext(long time, int value) => ReactiveTest.OnNext(time, value);
}
