using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Requests;

/// <summary>
/// Extreme values and user code that misbehaves, on the real default scheduler and real threads (virtual time accepts
/// any time span and never runs two things at once, so it cannot show these).
/// </summary>
public sealed class BoundaryTests
{
    private static readonly HandlerId Gated = new(20);
    private static readonly HandlerId Hang = new(21);

    private TaskCompletionSource<byte[]> _open = null!;

    [SetUp]
    public void SetUp() => _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task<LiveGrid> StartAsync() => LiveGrid.StartAsync(setup: node =>
    {
        node.Register(Gated, async (_, ct) => await _open.Task.WaitAsync(ct));
        node.Register(Hang, async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return [];
        });
    });

    [TestCase(long.MaxValue)]
    [TestCase(50L * 24 * 3600 * 1000 * TimeSpan.TicksPerMillisecond)]
    [TestCase(uint.MaxValue * TimeSpan.TicksPerMillisecond)]
    public async Task Request_WithAHugeTimeout_WaitsForItsAnswer_AndLaterDeadlinesStillFire(long timeoutTicks)
    {
        await using var grid = await StartAsync();
        var huge = grid.From(0, 1).Request(Gated, Bytes("x"), TimeSpan.FromTicks(timeoutTicks)).ToTask();

        // A short deadline after the huge one still fires: the huge one neither overflowed nor switched deadlines off.
        var shortCall = grid.From(0, 1).Request(Hang, Bytes("y"), TimeSpan.FromMilliseconds(50)).ToTask();
        Assert.ThrowsAsync<DeadlineExceededException>(async () => await shortCall.WaitAsync(LiveGrid.Guard));
        Assert.That(huge.IsCompleted, Is.False, () => "the huge deadline has not passed: " + huge.Exception);

        _open.SetResult(Bytes("answer"));
        Assert.That(Text(await huge.WaitAsync(LiveGrid.Guard)), Is.EqualTo("answer"));
        Assert.That(grid.From(0, 1).State, Is.EqualTo(ConnectionState.Connected), "the remote took the deadline on the wire in its stride");
        Assert.That(grid.From(1, 0).State, Is.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public async Task Request_SubscribedWithOnNextOnly_TimingOut_IsLogged_AndTheProcessAndConnectionLiveOn()
    {
        await using var grid = await StartAsync();
        var logged = grid.Log.WaitForAsync("user callback");

        // Rx's Subscribe(onNext) rethrows the error from OnError: that throw is the user's, not the grid's.
        using var _ = grid.From(0, 1).Request(Hang, Bytes("x"), TimeSpan.FromMilliseconds(20)).Subscribe(_ => { });
        await logged.WaitAsync(LiveGrid.Guard);

        var echo = await grid.From(0, 1).Request(Echo, Bytes("after")).ToTask().WaitAsync(LiveGrid.Guard);
        Assert.That(Text(echo), Is.EqualTo("live-1:after"));
    }

    [Test]
    public async Task Deadlines_DueTogether_ReachEachObserverOnItsOwn_SoABlockedObserverDelaysNoOther()
    {
        await using var grid = await StartAsync();
        var secondSaw = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstReleased = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timeout = TimeSpan.FromMilliseconds(30);

        // Both expire in the same pass of the deadline timer; the first observer blocks until the second has its error.
        using var first = grid.From(0, 1).Request(Hang, Bytes("1"), timeout)
            .Subscribe(_ => { }, _ =>
            {
                secondSaw.Task.Wait(LiveGrid.Guard);
                firstReleased.TrySetResult();
            });
        using var second = grid.From(0, 1).Request(Hang, Bytes("2"), timeout)
            .Subscribe(_ => { }, e => secondSaw.TrySetResult());

        await secondSaw.Task.WaitAsync(LiveGrid.Guard);
        await firstReleased.Task.WaitAsync(LiveGrid.Guard);
    }

    [Test]
    public async Task ConnectionStateObserver_ThatThrows_DoesNotStopRedialing()
    {
        await using var grid = await StartAsync();
        var dialer = grid.Nodes.Select((n, i) => (n, i)).First(x => x.n.Connections.Single().IsDialer);
        var connection = dialer.n.Connections.Single();
        using var thrower = connection.Subscribe(s =>
        {
            if (s != ConnectionState.Connected)
            {
                throw new InvalidOperationException("observer bug");
            }
        });

        var reconnected = connection.Skip(1).FirstAsync(s => s == ConnectionState.Connected).ToTask();
        grid.Network.Abort(grid.Nodes[1 - dialer.i].Address);

        Assert.That(await reconnected.WaitAsync(LiveGrid.Guard), Is.EqualTo(ConnectionState.Connected));
        var echo = await connection.Request(Echo, Bytes("back")).ToTask().WaitAsync(LiveGrid.Guard);
        Assert.That(Text(echo), Does.EndWith(":back"));
    }

    [Test]
    public async Task FrameTraceObserver_ThatThrows_DoesNotCloseTheConnection()
    {
        await using var grid = await StartAsync();
        using var tracesIn = grid.From(0, 1).FramesIn.Subscribe(_ => throw new InvalidOperationException("trace bug"));
        using var tracesOut = grid.From(1, 0).FramesOut.Subscribe(_ => throw new InvalidOperationException("trace bug"));

        for (var i = 0; i < 3; i++)
        {
            var echo = await grid.From(0, 1).Request(Echo, Bytes("t" + i)).ToTask().WaitAsync(LiveGrid.Guard);
            Assert.That(Text(echo), Is.EqualTo("live-1:t" + i));
        }

        Assert.That(grid.From(0, 1).State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(grid.From(0, 1).LastError, Is.Null);
    }
}
