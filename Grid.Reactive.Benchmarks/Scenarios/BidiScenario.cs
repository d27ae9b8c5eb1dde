using Grid.Reactive.Benchmarks.Harness;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>Scenario 4: a two-way stream: the client sends 512 B messages (at most 64 unanswered), the server echoes each.</summary>
public sealed class BidiScenario : IScenario
{
    private const int Size = 512;
    private const string Param = "size=512";
    private static readonly string[] Metrics = ["msgs_per_s"];

    /// <inheritdoc />
    public string Name => "bidi";

    /// <inheritdoc />
    public string Description => "two-way stream echo, 512 B, window 64: echoed msgs/s";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = await StreamScenario.StartAllAsync(context, Name, [Param], Metrics);
        try
        {
            var entries = started.Select(s => new StreamEntry(s.System.Name, s.Target,
                (sink, stop) => s.Target.BidiEchoAsync(Size, StreamScenario.Window, sink, stop))).ToList();
            var results = await StreamRuns.RunRoundsAsync(context, Name, Param, entries, Size, Metrics);
            foreach (var (system, result) in results)
            {
                context.Results.Add(Name, system, Param, "msgs_per_s", result.PerSecond);
            }
        }
        finally
        {
            await StreamScenario.StopAllAsync(context, started);
        }
    }
}
