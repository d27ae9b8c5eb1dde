using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>
/// Race 5 on real threads: streams failing (link reset, deadline, handler throwing) while their consumers drain
/// (see <see cref="StreamAbortAgainstDrain"/>). Passes on this branch; the fix on streams-v2 is for the same race.
/// </summary>
[Category("Stress")]
public sealed class StreamAbortStressTests
{
    [Test]
    public async Task StreamsFailing_WhileTheirConsumersDrain_EndWithAnError_NeverCompleted()
    {
        var result = await StreamAbortAgainstDrain.RunAsync(rounds: 150, streams: 32);
        StressAssert.Clean(result, 150 * 32);
    }
}
