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
        foreach (var system in context.StreamSystems)
        {
            var target = await StreamRuns.StartAsync(context, Name, system, [Param], Metrics);
            if (target is null)
            {
                continue;
            }

            try
            {
                var result = await StreamRuns.RunCheckedAsync(context, Name, system.Name, Param, target,
                    (sink, stop) => target.BidiEchoAsync(Size, StreamScenario.Window, sink, stop), Size, context.Options.Streams, Metrics);
                if (result is not null)
                {
                    context.Results.Add(Name, system.Name, Param, "msgs_per_s", result.PerSecond);
                }
            }
            finally
            {
                await StreamRuns.StopAsync(context, target, system.Name);
            }
        }
    }
}
