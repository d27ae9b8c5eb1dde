using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Requests;

/// <summary>Handlers that block their thread must not starve the thread pool that every link's I/O runs on.</summary>
public sealed class BlockingHandlerTests
{
    private static readonly HandlerId Block = new(50);

    [Test]
    public async Task ManyBlockingHandlers_DoNotDelayAnUnrelatedCall_OnAnotherConnection_OrThePings()
    {
        const int blockers = 200;
        using var release = new ManualResetEventSlim();
        var blocked = 0;
        using var allBlocked = new CountdownEvent(blockers);

        // Three nodes: 0 floods 1 with handlers that block a thread each (as synchronous disk or lock code would);
        // 2 then calls 1. Without protection, the thread pool would need 200 more threads, injected at about two a second.
        await using var grid = await LiveGrid.StartAsync(3, setup: node => node.Register(Block, (payload, _) =>
        {
            Interlocked.Increment(ref blocked);
            allBlocked.Signal();
            release.Wait(CancellationToken.None);
            return ValueTask.FromResult(payload);
        }));
        try
        {
            var flood = Enumerable.Range(0, blockers)
                .Select(i => grid.From(0, 1).Request(Block, Bytes("b" + i), TimeSpan.FromMinutes(5)).ToTask()).ToArray();
            Assert.That(allBlocked.Wait(LiveGrid.Guard), Is.True, () => $"every blocking handler started: none waited for a pool thread; {blocked} did, pool threads {ThreadPool.ThreadCount}, pending {ThreadPool.PendingWorkItemCount}, pending calls {grid.Nodes[1].PendingCalls()}");

            var echo = await grid.From(2, 1).Request(Echo, Bytes("unrelated")).ToTask().WaitAsync(LiveGrid.Guard);

            Assert.That(Text(echo), Is.EqualTo("live-1:unrelated"));
            Assert.That(release.IsSet, Is.False, "answered while all the blockers still held their threads");
            Assert.That(grid.From(0, 1).State, Is.EqualTo(ConnectionState.Connected), "pongs kept flowing on the flooded connection");
            release.Set();
            Assert.That((await Task.WhenAll(flood).WaitAsync(LiveGrid.Guard)).Length, Is.EqualTo(blockers));
        }
        finally
        {
            release.Set();
        }
    }
}
