using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Grid.Reactive.Benchmarks.Micro;

/// <summary>
/// Runs the BenchmarkDotNet micro benchmarks (behind --micro). They run in this process (in-process toolchain): no
/// generated project to build, which keeps them working under the repository's central package management.
/// </summary>
public static class MicroRunner
{
    /// <summary>Runs the benchmarks BenchmarkDotNet's own arguments select (every one when none are given).</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
        string[] arguments = args.Count == 0 ? ["--filter", "*"] : [.. args];
        var summaries = BenchmarkSwitcher.FromTypes([typeof(FrameCodecBenchmarks)]).Run(arguments, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
