using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>
/// Race 1 on real threads: a subscription disposed exactly while its answer arrives (see <see cref="CancelAgainstAnswer"/>).
/// The benchmark's <c>--stress</c> mode runs the same race for a million iterations.
/// </summary>
[Category("Stress")]
public sealed class CancelAgainstAnswerStressTests
{
    /// <summary>The known bug's violations, excused in the CI test and asserted by the explicit one below.</summary>
    internal const string LateNotification = CallRecord.AfterDispose;

    [TestCase(StressTransport.InMemory, 3_000)]
    [TestCase(StressTransport.WebSocket, 3_000)]
    public async Task DisposeRacingTheAnswer_EndsEachCallOnce_WithTheAnswerOrNothing_AndLeavesNothingBehind(StressTransport transport, int iterations)
    {
        var result = await CancelAgainstAnswer.RunAsync(transport, iterations);

        // Everything but the ordering against Dispose's return, which the explicit test below asserts.
        StressAssert.Clean(result, iterations, excused: LateNotification);
    }

    [Test]
    [Explicit("bug: OutgoingRequest.Execute checks _disposed once, before OnNext; OnCompleted (and sometimes OnNext) begins after Dispose returned")]
    public async Task DisposeRacingTheAnswer_NoNotificationBeginsAfterDisposeReturned(
        [Values(StressTransport.InMemory, StressTransport.WebSocket)] StressTransport transport)
    {
        // An observer that does a little work in OnNext: a Dispose that returns meanwhile must still stop OnCompleted.
        var result = await CancelAgainstAnswer.RunAsync(transport, iterations: 2_000, workInOnNext: 200);
        StressAssert.Clean(result, 2_000);
    }
}
