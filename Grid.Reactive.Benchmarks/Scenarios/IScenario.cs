using Grid.Reactive.Benchmarks.Harness;

namespace Grid.Reactive.Benchmarks.Scenarios;

/// <summary>One scenario of the issue: runs every system in turn and records their figures.</summary>
public interface IScenario
{
    /// <summary>Its name in results: single, mesh, stream, bidi, alloc, slow-consumer or link-cut.</summary>
    string Name { get; }

    /// <summary>One line on what it measures.</summary>
    string Description { get; }

    /// <summary>Runs it.</summary>
    Task RunAsync(BenchContext context);
}
