using System.Globalization;
using System.Text;
using Grid.Reactive.Benchmarks.Harness;

namespace Grid.Reactive.Benchmarks.Scale;

/// <summary>
/// The <c>--scale</c> mode: a whole grid of 64, 256 and 512 nodes (<c>--scale-nodes</c>) in this one process and in
/// virtual time (see <see cref="ScaleRun"/>), reported per node and per connection. Prints a table and writes it to
/// results/scale.md (or <c>--out</c>).
/// </summary>
public static class ScaleRunner
{
    /// <summary>Measures each grid size in turn; returns 0 when every size connected and reconnected.</summary>
    public static int Run(RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scale: {string.Join(", ", options.ScaleNodes)} nodes, seed {options.ScaleSeed}, {Environment.ProcessorCount} cores"));

        // Warm up: types loaded and code jitted before the first baseline is taken.
        ScaleRun.Measure(8, options.ScaleSeed, _ => { });
        var results = new List<ScaleResult>();
        var failed = false;
        foreach (var n in options.ScaleNodes)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== {n} nodes, {(long)n * (n - 1) / 2:N0} connections"));
            try
            {
                var result = ScaleRun.Measure(n, options.ScaleSeed, Console.WriteLine);
                results.Add(result);
                Console.WriteLine(Table([result]));
                failed |= result.ReconnectTime is null;
            }
            catch (InvalidOperationException ex)
            {
                Console.WriteLine($"  failed: {ex.Message}");
                failed = true;
            }

            GC.Collect();
        }

        var table = Table(results);
        Console.WriteLine();
        Console.WriteLine(table);
        var project = Runner.ProjectDirectory();
        var directory = options.OutputDirectory ?? Path.Combine(project, "results");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "scale.md"), Markdown(MachineInfo.Current(project), options, table));
        return failed ? 1 : 0;
    }

    private static string Markdown(MachineInfo machine, RunOptions options, string table) => string.Create(CultureInfo.InvariantCulture, $"""
        # Scale (`--scale`)

        {machine.Cores} cores, {machine.Os}, {machine.Runtime}, GC {machine.Gc}, commit {machine.Commit ?? "?"}, {machine.Date:yyyy-MM-dd HH:mm} UTC; seed {options.ScaleSeed}.

        {table}
        """);

    private static string Table(IReadOnlyList<ScaleResult> results)
    {
        var text = new StringBuilder();
        string Row(string name, Func<ScaleResult, string> value) => $"| {name} | {string.Join(" | ", results.Select(value))} |\n";
        text.Append(Row("nodes", r => r.Nodes.ToString(CultureInfo.InvariantCulture)));
        text.Append(Row("---", _ => "---:"));
        text.Append(Row("connections (pairs)", r => r.Connections.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("managed bytes per connection (both ends + in-memory link)", r => r.BytesPerConnection.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("managed bytes per connection end (one node, one peer)", r => r.BytesPerEnd.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("managed MiB per node", r => (r.Bytes / (double)r.Nodes / 1048576).ToString("0.00", CultureInfo.InvariantCulture)));
        text.Append(Row("time to connect all at start (virtual)", r => Seconds(r.ConnectTime)));
        text.Append(Row("pings sent per node per virtual second, idle", r => r.PingsPerNodePerSecond.ToString("0.0", CultureInfo.InvariantCulture)));
        text.Append(Row("frames sent per node per virtual second, idle", r => r.FramesPerNodePerSecond.ToString("0.0", CultureInfo.InvariantCulture)));
        text.Append(Row("timers (live scheduler items) per node, idle", r => r.LivePerNode.ToString("0.0", CultureInfo.InvariantCulture)));
        text.Append(Row("scheduler queue slots per node, idle (with cancelled)", r => r.QueuedPerNode.ToString("0.0", CultureInfo.InvariantCulture)));
        text.Append(Row("connections cut by the partition", r => r.CutConnections.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("dials per virtual second while partitioned (grid)", r => r.PartitionDialsPerSecond.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("heal to every pair connected (virtual)", r => r.ReconnectTime is { } t ? Seconds(t) : "not within 120 s"));
        text.Append(Row("... in backoff periods (MaxDelay)", r => r.ReconnectTime is { } t ? (t / r.MaxDelay).ToString("0.00", CultureInfo.InvariantCulture) : "-"));
        text.Append(Row("dials after the heal (grid)", r => r.HealDials.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("peak dials per virtual second (grid)", r => r.PeakDialsPerSecond.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("peak dials per 100 ms (grid)", r => r.PeakDialsPer100Ms.ToString("N0", CultureInfo.InvariantCulture)));
        text.Append(Row("most dials by one node at one instant", r => r.MaxNodeDialsAtOnce.ToString(CultureInfo.InvariantCulture)));
        text.Append(Row("most dials by one node in one second / its share per second", r => string.Create(CultureInfo.InvariantCulture,
            $"{r.MaxNodeDialsPerSecond} / {r.MaxNodeCutDialers / r.MaxDelay.TotalSeconds:0.0}")));
        text.Append(Row("wall time (CPU time)", r => $"{Seconds(r.Wall)} ({Seconds(r.Cpu)})"));
        return text.ToString();
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.00 's'", CultureInfo.InvariantCulture);
}
