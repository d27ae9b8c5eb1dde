using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>Race 2 on real threads: 1 ms deadlines against handlers answering at about that moment (see <see cref="DeadlineAgainstAnswer"/>).</summary>
[Category("Stress")]
public sealed class DeadlineAgainstAnswerStressTests
{
    [TestCase(StressTransport.InMemory, 30_000)]
    [TestCase(StressTransport.WebSocket, 15_000)]
    public async Task OneMillisecondDeadlines_AgainstAnswersAtThatMoment_EndEachCallExactlyOnce(StressTransport transport, int calls)
    {
        var result = await DeadlineAgainstAnswer.RunAsync(transport, calls);
        StressAssert.Clean(result, calls);
    }
}
