using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>Race 3 on real threads: link resets and manager disposal against calls in flight, starts, dials and accepts (see <see cref="ConnectionLoss"/>).</summary>
[Category("Stress")]
public sealed class ConnectionLossStressTests
{
    [Test]
    public async Task LinkResets_UnderCallsBothWays_EndEveryCallOnce_AndCancelEveryLostHandler()
    {
        var result = await ConnectionLoss.LinkAbortAgainstCallsAsync(aborts: 300);

        // Notifications that begin after Dispose returned are the bug CancelAgainstAnswerStressTests asserts explicitly.
        StressAssert.Clean(result, 300);
    }

    [Test]
    public async Task DisposeAsync_WhileBothNodesCall_EndsEveryCallOnce_AndLeavesNoLinkOpen()
    {
        var result = await ConnectionLoss.DisposeAgainstCallsAsync(rounds: 60);
        StressAssert.Clean(result, 60);
    }

    [TestCase(StressTransport.InMemory, 300)]
    [TestCase(StressTransport.WebSocket, 40)]
    public async Task DisposeAsync_WhileManagersStartDialAndAccept_ShutsDownCleanly(StressTransport transport, int rounds)
    {
        var result = await ConnectionLoss.DisposeAgainstStartAsync(transport, rounds);

        StressAssert.Clean(result, rounds);
    }

    [Test]
    public async Task DisposeAsync_WhileTheManagerStarts_FreesItsAddress()
    {
        var result = await ConnectionLoss.DisposeAgainstStartAsync(StressTransport.WebSocket, rounds: 40);
        StressAssert.Clean(result, 40);
    }
}
