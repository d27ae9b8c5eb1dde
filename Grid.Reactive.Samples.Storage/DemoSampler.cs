using OpenTelemetry.Trace;

namespace Grid.Reactive.Samples.Storage;

/// <summary>
/// Samples only the traces the demo starts on purpose (activities named <c>storage-demo ...</c>) and, through a
/// <see cref="ParentBasedSampler"/>, every grid span under them on every node; the rest of the demo's calls are not
/// traced, so the console exporter's output stays short. A real service would use a ratio sampler instead.
/// </summary>
internal sealed class DemoSampler : Sampler
{
    public const string SourceName = "Grid.Reactive.Samples.Storage";

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        new(samplingParameters.Name.StartsWith("storage-demo", StringComparison.Ordinal)
            ? SamplingDecision.RecordAndSample
            : SamplingDecision.Drop);
}
