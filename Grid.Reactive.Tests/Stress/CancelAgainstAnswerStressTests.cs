using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>
/// Race 1 on real threads: a subscription disposed exactly while its answer arrives (see <see cref="CancelAgainstAnswer"/>).
/// The benchmark's <c>--stress</c> mode runs the same race for a million iterations.
/// </summary>
[Category("Stress")]
public sealed class CancelAgainstAnswerStressTests
{
    [TestCase(StressTransport.InMemory, 3_000)]
    [TestCase(StressTransport.WebSocket, 3_000)]
    public async Task DisposeRacingTheAnswer_EndsEachCallOnce_WithTheAnswerOrNothing_AndLeavesNothingBehind(StressTransport transport, int iterations)
    {
        var result = await CancelAgainstAnswer.RunAsync(transport, iterations);
        StressAssert.Clean(result, iterations);
    }

    [Test]
    public async Task DisposeRacingTheAnswer_NoNotificationBeginsAfterDisposeReturned(
        [Values(StressTransport.InMemory, StressTransport.WebSocket)] StressTransport transport)
    {
        // An observer that does a little work in OnNext: a Dispose that returns meanwhile must still stop OnCompleted.
        var result = await CancelAgainstAnswer.RunAsync(transport, iterations: 2_000, workInOnNext: 200);
        StressAssert.Clean(result, 2_000);
    }
}
