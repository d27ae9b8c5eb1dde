using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// The whole grid under random calls and random faults, in virtual time, for many seeds (see <see cref="SimulationRun"/>
/// for what a seed does and <see cref="SimulationSeeds"/> for choosing seeds). A failing seed names itself and how to
/// replay it.
/// </summary>
[Category("Simulation")]
public sealed class SimulationTests
{
    private const string Test = nameof(SimulationTests) + "." + nameof(Seeds_KeepEveryInvariant);

    [Test]
    public async Task Seeds_KeepEveryInvariant()
    {
        var seeds = SimulationSeeds.Selected();
        var outcomes = new ConcurrentBag<SimulationOutcome>();
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;

        // Seeds are independent grids on their own schedulers: they run side by side, each on one thread at a time.
        await Parallel.ForEachAsync(seeds, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (seed, _) => outcomes.Add(await SimulationRun.RunAsync(seed)));

        var failed = outcomes.Where(o => !o.Passed).OrderBy(o => o.Seed).ToList();
        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Simulation: {seeds.Count} seeds, {outcomes.Sum(o => o.Calls)} calls, {outcomes.Sum(o => o.Streams)} streams ({outcomes.Sum(o => o.StreamMessages)} messages), {outcomes.Sum(o => o.Faults)} faults, {failed.Count} failed, {clock.Elapsed.TotalSeconds:F1} s ({(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F1} s of CPU)"));
        var streamEndings = outcomes.SelectMany(o => o.StreamEndings).GroupBy(e => e.Key).Select(g => KeyValuePair.Create(g.Key, g.Sum(e => e.Value)));
        TestContext.Progress.WriteLine($"Streams ended: {SimulationOutcome.Describe(streamEndings)}");
        if (SimulationSeeds.Replay is not null)
        {
            var outcome = outcomes.Single();
            var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"simulation-seed-{outcome.Seed}.trace.txt");
            await File.WriteAllLinesAsync(path, outcome.Trace.Select(e => e.ToString()));
            TestContext.Progress.WriteLine($"Seed {outcome.Seed}: calls {outcome.Endings}; streams {SimulationOutcome.Describe(outcome.StreamEndings)}. Trace: {path}");
        }

        Assert.That(failed, Is.Empty, () => Report(failed));
    }

    [Test]
    public async Task SameSeed_ReplaysEventForEvent_OnAnyThread_AndAnotherSeedDiffers()
    {
        var first = await SimulationRun.RunAsync(42, traceFrames: true);
        var again = await Task.Run(() => SimulationRun.RunAsync(42, traceFrames: true));
        var other = await SimulationRun.RunAsync(45, traceFrames: true);

        var a = first.Trace.Select(e => e.ToString()).ToList();
        var b = again.Trace.Select(e => e.ToString()).ToList();
        var difference = Enumerable.Range(0, Math.Max(a.Count, b.Count)).FirstOrDefault(i => i >= a.Count || i >= b.Count || a[i] != b[i], -1);
        Assert.That(difference, Is.EqualTo(-1), () =>
            $"Seed 42 replayed differently from event {difference} on:\n first: {Around(a, difference)}\n again: {Around(b, difference)}");
        Assert.That(a, Has.Count.GreaterThan(3_000), "the trace covers frames, states, faults and calls");
        Assert.That(first.Trace.Select(e => e.Kind).Distinct().Count(), Is.GreaterThanOrEqualTo(8));
        Assert.That(other.Nodes, Is.EqualTo(first.Nodes), "both seeds run the same number of nodes");
        Assert.That(other.Trace.Select(e => e.ToString()), Is.Not.EqualTo(a));
    }

    private static string Around(List<string> lines, int index) =>
        string.Join("\n        ", lines.Skip(Math.Max(0, index - 3)).Take(7));

    /// <summary>What the failing seeds broke, with how to replay each and the end of the first one's trace.</summary>
    internal static string Report(List<SimulationOutcome> failed, string test = Test)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{failed.Count} seed(s) broke an invariant: {string.Join(", ", failed.Select(f => f.Seed))}");
        foreach (var outcome in failed.Take(5))
        {
            text.AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Seed {outcome.Seed} ({outcome.Nodes} nodes, {outcome.Calls} calls, {outcome.Streams} streams, {outcome.Faults} faults; calls {outcome.Endings}; streams {SimulationOutcome.Describe(outcome.StreamEndings)}):");
            foreach (var violation in outcome.Violations.Take(10))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  - {violation}");
            }

            if (outcome.Violations.Count > 10)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  - ... and {outcome.Violations.Count - 10} more");
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"  Replay: {SimulationSeeds.ReplayCommand(outcome.Seed, test)}");
        }

        var worst = failed[0];
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Last 60 events of seed {worst.Seed}:");
        foreach (var e in worst.Trace.TakeLast(60))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {e}");
        }

        return text.ToString();
    }
}
