using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

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
        var started = await StartAllAsync(context, Name, sizes.Select(Param).ToArray(), Metrics);
        try
        {
            foreach (var size in sizes)
            {
                var entries = started.Select(s => new StreamEntry(s.System.Name, s.Target,
                    (sink, stop) => s.Target.ReceiveAsync(size, Window, sink, stop))).ToList();
                var results = await StreamRuns.RunRoundsAsync(context, Name, Param(size), entries, size, Metrics);
                foreach (var (system, result) in results)
                {
                    context.Results.Add(Name, system, Param(size), "msgs_per_s", result.PerSecond);
                    context.Results.Add(Name, system, Param(size), "mb_per_s", result.PerSecond * size / Megabyte);
                }
            }
        }
        finally
        {
            await StopAllAsync(context, started);
        }

        context.Results.Note("stream: grpc has no message window; its server-streaming call is paced by HTTP/2 flow control (default windows). signalr has no message window either: the hub method's IAsyncEnumerable is paced only by the transport (the pipe to the WebSocket, TCP), and its client buffers what arrives in an unbounded channel until the consumer takes it. ws-raw packs as many messages as its credit allows (up to 64 KiB) into one WebSocket message. MB = 2^20 bytes.");
    }

    /// <summary>Starts every selected stream system (recording those that are n/a or fail to start).</summary>
    public static async Task<List<(IStreamSystem System, IStreamTarget Target)>> StartAllAsync(BenchContext context, string scenario,
        IReadOnlyList<string> parameters, IReadOnlyList<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = new List<(IStreamSystem System, IStreamTarget Target)>();
        foreach (var system in context.StreamSystems)
        {
            if (await StreamRuns.StartAsync(context, scenario, system, parameters, metrics) is { } target)
            {
                started.Add((system, target));
            }
        }

        return started;
    }

    /// <summary>Stops what <see cref="StartAllAsync"/> started.</summary>
    public static async Task StopAllAsync(BenchContext context, IEnumerable<(IStreamSystem System, IStreamTarget Target)> started)
    {
        ArgumentNullException.ThrowIfNull(started);
        foreach (var (system, target) in started)
        {
            await StreamRuns.StopAsync(context, target, system.Name);
        }
    }

    private static string Param(int size) => string.Create(CultureInfo.InvariantCulture, $"size={size}");
}
