using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>
/// Scenario 6: a server streams 64 KiB messages as fast as it is allowed to a client that consumes only 1,000 a
/// second. With working backpressure the producer's rate follows the consumer's and the heap stays flat; without it
/// messages pile up somewhere in the process.
/// </summary>
public sealed class SlowConsumerScenario : IScenario
{
    private const int Size = 64 * 1024;
    private const double Rate = 1000;
    private static readonly string[] Metrics = ["consumer_msgs_per_s", "producer_msgs_per_s", "peak_mb", "growth_mb"];

    /// <inheritdoc />
    public string Name => "slow-consumer";

    /// <inheritdoc />
    public string Description => "64 KiB stream to a consumer paced at 1,000 msgs/s: producer vs consumer rate, peak heap and its growth";

    /// <inheritdoc />
    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var param = string.Create(CultureInfo.InvariantCulture, $"size={Size},rate={Rate}");
        foreach (var system in context.StreamSystems)
        {
            var target = await StreamRuns.StartAsync(context, Name, system, [param], Metrics);
            if (target is null)
            {
                continue;
            }

            try
            {
                var result = await StreamRuns.RunCheckedAsync(context, Name, system.Name, param, target,
                    (sink, stop) => target.ReceiveAsync(Size, StreamScenario.Window, sink, stop), Size, context.Options.SlowConsumer, Metrics,
                    paceMessagesPerSecond: Rate, sampleMemory: true);
                if (result is not null)
                {
                    context.Results.Add(Name, system.Name, param, "consumer_msgs_per_s", result.PerSecond);
                    context.Results.Add(Name, system.Name, param, "producer_msgs_per_s", result.ProducedPerSecond);
                    context.Results.Add(Name, system.Name, param, "peak_mb", result.PeakMb);
                    context.Results.Add(Name, system.Name, param, "growth_mb", result.GrowthMb);
                    context.Progress($"{Name} {system.Name}: producer {BenchContext.F(result.ProducedPerSecond)} msgs/s, peak heap {BenchContext.F(result.PeakMb)} MB, growth {BenchContext.F(result.GrowthMb)} MB");
                }
            }
            finally
            {
                await StreamRuns.StopAsync(context, target, system.Name);
            }
        }

        context.Results.Note("slow-consumer: peak_mb is the highest managed heap sample (GC.GetTotalMemory without collecting, every 5 ms) in the measured window, in MiB, for the whole process, from a heap collected before each system's run; growth_mb is the peak of the window's last third minus that of its first third (about 0 when flat). signalr's client buffers a stream's items in an unbounded channel: its producer is held back only by how fast the client's receive loop moves messages into that channel, not by the consumer, so its heap grows for as long as the stream runs.");
    }
}
