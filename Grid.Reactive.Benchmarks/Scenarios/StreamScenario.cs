using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>Scenario 3: one server-to-client stream, window 64, with 512 B and 64 KiB messages: messages/s and MB/s.</summary>
public sealed class StreamScenario : IScenario
{
    /// <summary>Messages the client lets the server send ahead.</summary>
    public const int Window = 64;

    /// <summary>Bytes in a megabyte as the figures count them (MiB).</summary>
    public const double Megabyte = 1024 * 1024;

    private static readonly string[] Metrics = ["msgs_per_s", "mb_per_s"];

    /// <inheritdoc />
    public string Name => "stream";

    /// <inheritdoc />
    public string Description => "server-to-client stream, window 64, 512 B and 64 KiB messages: msgs/s, MB/s";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int[] sizes = [512, 64 * 1024];
        var parameters = sizes.Select(Param).ToArray();
        foreach (var system in context.StreamSystems)
        {
            var target = await StreamRuns.StartAsync(context, Name, system, parameters, Metrics);
            if (target is null)
            {
                continue;
            }

            try
            {
                foreach (var size in sizes)
                {
                    var result = await StreamRuns.RunCheckedAsync(context, Name, system.Name, Param(size), target,
                        (sink, stop) => target.ReceiveAsync(size, Window, sink, stop), size, context.Options.Streams, Metrics);
                    if (result is not null)
                    {
                        context.Results.Add(Name, system.Name, Param(size), "msgs_per_s", result.PerSecond);
                        context.Results.Add(Name, system.Name, Param(size), "mb_per_s", result.PerSecond * size / Megabyte);
                    }
                }
            }
            finally
            {
                await StreamRuns.StopAsync(context, target, system.Name);
            }
        }

        context.Results.Note("stream: grpc has no message window; its server-streaming call is paced by HTTP/2 flow control (default windows). ws-raw packs as many messages as its credit allows (up to 64 KiB) into one WebSocket message. MB = 2^20 bytes.");
    }

    private static string Param(int size) => string.Create(CultureInfo.InvariantCulture, $"size={size}");
}
