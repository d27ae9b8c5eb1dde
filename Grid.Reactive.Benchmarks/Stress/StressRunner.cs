using System.Globalization;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Stress;

namespace Grid.Reactive.Benchmarks.Stress;

/// <summary>
/// The <c>--stress</c> mode: the races of Grid.Reactive.Tests/Stress (the same source, in Stress/Races here) at
/// million-interleaving counts. Prints each race's iterations, outcomes and violations; exits 1 on any violation.
/// Not part of <c>--smoke</c>: at scale 1 it runs for about 25 minutes on a 2-core machine.
/// </summary>
public static class StressRunner
{
    /// <summary>A race by name, with its count at scale 1.</summary>
    private sealed record Race(string Name, long Count, Func<int, Task<StressResult>> Run);

    private static IReadOnlyList<Race> Races { get; } =
    [
        new("cancel-vs-answer/inmemory", 300_000, n => CancelAgainstAnswer.RunAsync(StressTransport.InMemory, n)),
        new("cancel-vs-answer/websocket", 200_000, n => CancelAgainstAnswer.RunAsync(StressTransport.WebSocket, n)),
        new("cancel-vs-answer/inmemory/working-observer", 200_000, n => CancelAgainstAnswer.RunAsync(StressTransport.InMemory, n, workInOnNext: 200)),
        new("deadline-vs-answer/inmemory", 2_000_000, n => DeadlineAgainstAnswer.RunAsync(StressTransport.InMemory, n)),
        new("deadline-vs-answer/websocket", 1_000_000, n => DeadlineAgainstAnswer.RunAsync(StressTransport.WebSocket, n)),
        new("abort-vs-calls/inmemory", 50_000, n => ConnectionLoss.LinkAbortAgainstCallsAsync(n)),
        new("dispose-vs-calls/inmemory", 5_000, n => ConnectionLoss.DisposeAgainstCallsAsync(n)),
        new("dispose-vs-start/inmemory", 20_000, n => ConnectionLoss.DisposeAgainstStartAsync(StressTransport.InMemory, n)),
        new("dispose-vs-start/websocket", 1_000, n => ConnectionLoss.DisposeAgainstStartAsync(StressTransport.WebSocket, n)),
        new("throwing-observers/inmemory", 5_000_000, n => ThrowingObservers.RunAsync(StressTransport.InMemory, n)),
        new("throwing-observers/websocket", 2_000_000, n => ThrowingObservers.RunAsync(StressTransport.WebSocket, n)),
        new("stream-failure-vs-drain/inmemory", 10_000, n => StreamAbortAgainstDrain.RunAsync(n, streams: 32)),
    ];

    /// <summary>Runs the races that <see cref="RunOptions.Filters"/> select; returns 0 when none found a violation.</summary>
    public static async Task<int> RunAsync(RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var selected = Races.Where(r => options.Selects(r.Name)).ToList();
        if (selected.Count == 0)
        {
            await Console.Error.WriteLineAsync($"No race matches the filter. Races: {string.Join(", ", Races.Select(r => r.Name))}.");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stress: {selected.Count} races at scale {options.StressScale}, {Environment.ProcessorCount} cores"));
        long iterations = 0, violations = 0;
        foreach (var race in selected)
        {
            var count = (int)Math.Max(1, Math.Min(int.MaxValue, race.Count * options.StressScale));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== {race.Name}: {count:N0}"));
            StressResult result;
            try
            {
                result = await race.Run(count);
            }
            catch (Exception ex)
            {
                result = new StressResult(race.Name);
                result.Violation("violation: the race crashed: " + ex);
            }

            Console.WriteLine(result);
            iterations += result.Iterations;
            violations += result.ViolationCount;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stress: {iterations:N0} iterations run, {violations:N0} violations found"));
        return violations == 0 ? 0 : 1;
    }
}
