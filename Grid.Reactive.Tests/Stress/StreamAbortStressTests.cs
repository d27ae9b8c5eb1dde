using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>Race 5 on real threads: a link reset under streams whose consumers are draining (see <see cref="StreamAbortAgainstDrain"/>).</summary>
[Category("Stress")]
public sealed class StreamAbortStressTests
{
    [Test]
    public async Task LinkReset_WhileConsumersDrain_EndsEveryStreamWithAnError_NeverCompleted()
    {
        var result = await StreamAbortAgainstDrain.RunAsync(rounds: 150, streams: 32);
        StressAssert.Clean(result, 150 * 32);
    }
}
