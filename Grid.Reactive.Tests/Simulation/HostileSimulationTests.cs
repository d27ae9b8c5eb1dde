using System.Collections.Concurrent;
using System.Globalization;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// The seeded simulation of <see cref="SimulationTests"/> on a hostile network (<see cref="SimulationProfile.Hostile"/>):
/// besides the usual faults, links slow down to a few kilobytes a second, readers stop or slow down for a while (their
/// senders' frames then wait in their own queues), and one node accepts only small messages. Every invariant must
/// still hold. Seeds are chosen as for <see cref="SimulationTests"/>.
/// </summary>
[Category("Simulation")]
public sealed class HostileSimulationTests
{
    private const string Test = nameof(HostileSimulationTests) + "." + nameof(Seeds_OnAHostileNetwork_KeepEveryInvariant);

    [Test]
    public async Task Seeds_OnAHostileNetwork_KeepEveryInvariant()
    {
        var seeds = SimulationSeeds.Selected();
        var outcomes = new ConcurrentBag<SimulationOutcome>();
        await Parallel.ForEachAsync(seeds, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (seed, _) => outcomes.Add(await SimulationRun.RunAsync(seed, profile: SimulationProfile.Hostile)));

        var failed = outcomes.Where(o => !o.Passed).OrderBy(o => o.Seed).ToList();
        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Hostile simulation: {seeds.Count} seeds, {outcomes.Sum(o => o.Calls)} calls, {outcomes.Sum(o => o.Streams)} streams, {outcomes.Sum(o => o.Faults)} faults, {failed.Count} failed"));
        TestContext.Progress.WriteLine($"Calls ended: {SimulationOutcome.Describe(outcomes.SelectMany(o => o.Endings.Split(", ")).Select(e => e.Split(' ')).GroupBy(e => e[0]).Select(g => KeyValuePair.Create(g.Key, g.Sum(e => int.Parse(e[1], CultureInfo.InvariantCulture)))))}");
        if (SimulationSeeds.Replay is not null)
        {
            var outcome = outcomes.Single();
            var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"hostile-simulation-seed-{outcome.Seed}.trace.txt");
            await File.WriteAllLinesAsync(path, outcome.Trace.Select(e => e.ToString()));
            TestContext.Progress.WriteLine($"Seed {outcome.Seed}: calls {outcome.Endings}. Trace: {path}");
        }

        Assert.That(failed, Is.Empty, () => SimulationTests.Report(failed, Test));
    }

    [Test]
    public async Task AHostileSeed_InjectsCapacityFaults_AndReplaysEventForEvent()
    {
        var first = await SimulationRun.RunAsync(7, profile: SimulationProfile.Hostile);
        var again = await Task.Run(() => SimulationRun.RunAsync(7, profile: SimulationProfile.Hostile));

        Assert.That(again.Trace.Select(e => e.ToString()), Is.EqualTo(first.Trace.Select(e => e.ToString())));
        var details = first.Trace.Where(e => e.Kind is SimulationEventKind.Fault or SimulationEventKind.Heal).Select(e => e.Detail).ToList();
        Assert.That(details, Has.Some.StartsWith("bandwidth ").And.Some.StartsWith("stop reading").And.Some.EqualTo("resume reading"));
    }
}
