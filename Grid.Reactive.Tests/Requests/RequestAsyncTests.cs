using Grid.Reactive.Tests.Streams;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Requests;

/// <summary>The task-based calls: <see cref="Connection.RequestAsync"/> and <see cref="TypedRequest{TRequest, TResponse}.CallAsync"/>.</summary>
public sealed class RequestAsyncTests
{
    private static readonly TypedRequest<Query, Summary> Slow = new(new HandlerId(65));

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

    [Test]
    public void RequestAsync_CompletesWithTheAnswer_OrFaultsWithTheRemoteError()
    {
        var ok = _grid["a"].Connection("b").RequestAsync(Echo, Bytes("ping"));
        var failed = _grid["a"].Connection("b").RequestAsync(Fail, Bytes("now"));
        _grid.RunMs(10);

        Assert.That(Text(ok.Result), Is.EqualTo("b:ping"));
        Assert.That(failed.Exception?.InnerException, Is.TypeOf<RemoteException>().With.Message.EqualTo("boom: now"));
    }

    [Test]
    public void RequestAsync_WhenNotConnected_FaultsAtOnce_AndBadArgumentsThrowAtOnce()
    {
        var lone = new VirtualGrid(["x", "y"]);
        var x = lone.Start("x");

        var call = x.Connection("y").RequestAsync(Echo, Bytes("?"));

        Assert.That(call.IsFaulted && call.Exception!.InnerException is DisconnectedException, Is.True);
        Assert.That(() => x.Connection("y").RequestAsync(Echo, Bytes("?"), subroute: ""), Throws.ArgumentException);
        Assert.That(() => x.Connection("y").RequestAsync(Echo, Bytes("?"), TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>());
        lone.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Test]
    public void RequestAsync_WithATokenAlreadyCancelled_SendsNothing()
    {
        var served = 0;
        var counted = new HandlerId(66);
        _grid["b"].Register(counted, (p, _) =>
        {
            served++;
            return ValueTask.FromResult(p);
        });

        var call = _grid["a"].Connection("b").RequestAsync(counted, Bytes("x"), cancellationToken: new CancellationToken(canceled: true));
        _grid.RunMs(10);

        Assert.That(call.IsCanceled, Is.True);
        Assert.That(served, Is.Zero);
    }

    [Test]
    public void CallAsync_Cancelled_CancelsTheTask_AndTheRemoteHandlersToken()
    {
        RequestContext? running = null;
        var never = new TaskCompletionSource<Summary>();
        Slow.Register(_grid["b"], (_, context) =>
        {
            running = context;
            return new ValueTask<Summary>(never.Task);
        });
        using var cancellation = new CancellationTokenSource();

        var call = Slow.CallAsync(_grid["a"].Connection("b"), new Query("q", 1), TimeSpan.FromMinutes(1), cancellationToken: cancellation.Token);
        _grid.RunMs(10);
        Assert.That(running, Is.Not.Null, "the handler is running");
        Assert.That(call.IsCompleted, Is.False);

        cancellation.Cancel();
        Assert.That(call.IsCanceled, Is.True, "the caller's task is cancelled at once");
        Assert.That(running!.CancellationToken.IsCancellationRequested, Is.False, "the remote hears of it one hop later");

        _grid.RunMs(10);
        Assert.That(running.CancellationToken.IsCancellationRequested, Is.True, "cancelling the task cancelled the call on the serving side");
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero);
    }

    [Test]
    public void CallAsync_CancelledAfterTheAnswer_ChangesNothing()
    {
        Slow.Register(_grid["b"], (query, _) => ValueTask.FromResult(new Summary(query.Limit, 0)));
        using var cancellation = new CancellationTokenSource();

        var call = Slow.CallAsync(_grid["a"].Connection("b"), new Query("q", 7), cancellationToken: cancellation.Token);
        _grid.RunMs(10);
        cancellation.Cancel();

        Assert.That(call.Result, Is.EqualTo(new Summary(7, 0)));
    }
}
