using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>What the run ran on, written next to the figures.</summary>
public sealed record MachineInfo(int Cores, string Os, string Runtime, string Gc, string? Commit, DateTimeOffset Date)
{
    /// <summary>Reads this machine and process.</summary>
    public static MachineInfo Current(string repositoryDirectory) => new(
        Environment.ProcessorCount,
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        (GCSettings.IsServerGC ? "server" : "workstation") + (GCSettings.LatencyMode == GCLatencyMode.Batch ? ", non-concurrent" : ", concurrent"),
        GitCommit(repositoryDirectory),
        DateTimeOffset.UtcNow);

    /// <summary>HEAD's commit, with "-dirty" when tracked files other than earlier results have changes; null outside a repository.</summary>
    private static string? GitCommit(string directory)
    {
        var commit = Git(directory, "rev-parse", "HEAD");
        var changes = Git(directory, "status", "--porcelain", "--untracked-files=no")?
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.Contains("Grid.Reactive.Benchmarks/results/", StringComparison.Ordinal)); // earlier results do not count
        return commit is null ? null : changes?.Any() == true ? commit + "-dirty" : commit;
    }

    private static string? Git(string directory, params string[] arguments)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", ["-C", directory, .. arguments])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null)
            {
                return null;
            }

            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit(5000);
            return git.ExitCode == 0 ? output : null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
