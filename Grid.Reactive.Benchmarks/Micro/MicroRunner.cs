using BenchmarkDotNet.Running;

namespace Grid.Reactive.Benchmarks.Micro;

/// <summary>
/// Runs the BenchmarkDotNet micro benchmarks (behind --micro). They run in this process (<c>--inProcess</c>): no
/// generated project to build, which keeps them working under the repository's central package management. Without
/// a <c>--job</c> argument they use BenchmarkDotNet's short job, enough on a shared 2-core machine.
/// </summary>
public static class MicroRunner
{
    /// <summary>Runs the benchmarks BenchmarkDotNet's own arguments select (every one when no filter is given).</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var arguments = args.ToList();
        if (!arguments.Contains("--filter"))
        {
            arguments.AddRange(["--filter", "*"]);
        }

        if (!arguments.Contains("--job") && !arguments.Contains("-j"))
        {
            arguments.AddRange(["--job", "short"]);
        }

        if (!arguments.Contains("--inProcess") && !arguments.Contains("-i"))
        {
            arguments.Add("--inProcess");
        }

        var summaries = BenchmarkSwitcher.FromTypes([typeof(FrameCodecBenchmarks), typeof(InMemoryRequestBenchmarks), typeof(ObservedRequestBenchmarks)]).Run([.. arguments]);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
