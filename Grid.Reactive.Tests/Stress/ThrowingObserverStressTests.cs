using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>Race 4 on real threads: observers that throw, among thousands of concurrent calls (see <see cref="ThrowingObservers"/>).</summary>
[Category("Stress")]
public sealed class ThrowingObserverStressTests
{
    [TestCase(StressTransport.InMemory, 200_000)]
    [TestCase(StressTransport.WebSocket, 100_000)]
    public async Task ObserversThrowingInOnNextAndOnError_UnderLoadFromFourThreads_AffectNoOtherCall_AndTheConnectionStaysConnected(StressTransport transport, int calls)
    {
        var result = await ThrowingObservers.RunAsync(transport, calls);
        StressAssert.Clean(result, calls);
    }
}
