using System.Globalization;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// How long a timed run warms up and then measures, and in how many rounds: with several, the systems of a scenario
/// take turns round by round (grid, grpc, ws-raw, grid, grpc, ...) so that a change in the machine's load hits them
/// alike, and each system's rate is its median round.
/// </summary>
public sealed record Durations(TimeSpan WarmUp, TimeSpan Measure, int Rounds = 1)
{
    /// <summary>One round's warm-up and measured window, for progress lines.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"warm-up {WarmUp.TotalSeconds:0.##} s, measure {Measure.TotalSeconds:0.##} s");

    /// <summary>The same total measuring time in one round (for figures that do not depend on load, like allocations).</summary>
    public Durations OneRound() => new(WarmUp * 2, Measure * Rounds, 1);
}

/// <summary>How much of the benchmark runs, and for how long.</summary>
public enum RunMode
{
    /// <summary>Every scenario at full length (several minutes).</summary>
    Full,

    /// <summary>Every scenario, short (under two minutes).</summary>
    Quick,

    /// <summary>About a second per system: checks only that every system completes its calls correctly (CI).</summary>
    Smoke,
}

/// <summary>The command line, parsed.</summary>
public sealed class RunOptions
{
    /// <summary>The run mode.</summary>
    public RunMode Mode { get; private init; } = RunMode.Full;

    /// <summary>Scenario name substrings; empty runs every scenario.</summary>
    public IReadOnlyList<string> Filters { get; private init; } = [];

    /// <summary>System names to run; empty runs every system.</summary>
    public IReadOnlyList<string> Systems { get; private init; } = [];

    /// <summary>Where results/latest.md and results/latest.json go; null for the project's results folder.</summary>
    public string? OutputDirectory { get; private init; }

    /// <summary>True to run the BenchmarkDotNet micro benchmarks instead (the arguments after --micro go to it).</summary>
    public bool Micro { get; private init; }

    /// <summary>Arguments for BenchmarkDotNet.</summary>
    public IReadOnlyList<string> MicroArguments { get; private init; } = [];

    /// <summary>True to name the types each alloc run allocates most (sampled from the runtime's allocation events).</summary>
    public bool AllocationTypes { get; private init; }

    /// <summary>HubConnections per ordered pair of nodes for the signalr request system; null for its default.</summary>
    public int? SignalRConnections { get; private init; }

    /// <summary>True to run the stress races instead (Stress/StressRunner.cs); --filter selects races.</summary>
    public bool Stress { get; private init; }

    /// <summary>Multiplies every stress race's count (--stress-scale; default 1).</summary>
    public double StressScale { get; private init; } = 1;

    /// <summary>True to run the whole-grid scale measurement in virtual time instead (Scale/ScaleRunner.cs).</summary>
    public bool Scale { get; private init; }

    /// <summary>The grid sizes of the scale mode (--scale-nodes; default 64, 256, 512).</summary>
    public IReadOnlyList<int> ScaleNodes { get; private init; } = [64, 256, 512];

    /// <summary>The seed of the scale mode's reconnect jitter (--scale-seed; default 1).</summary>
    public int ScaleSeed { get; private init; } = 1;

    /// <summary>
    /// Total concurrencies the mesh scenario also runs at its largest size, beyond the 64 of its target
    /// (--mesh-concurrency; default none): with more calls in flight per link, batching comes back.
    /// </summary>
    public IReadOnlyList<int> MeshConcurrencies { get; private init; } = [];

    /// <summary>
    /// True to run every system that can over TLS (--tls): one private CA and a node certificate made in memory; the
    /// results go to tls.md and tls.json instead of latest.*.
    /// </summary>
    public bool Tls { get; private init; }

    /// <summary>The base name of the results files: "tls" for a TLS run, else "latest".</summary>
    public string ResultsName => Tls ? "tls" : "latest";

    /// <summary>True when --help was asked for.</summary>
    public bool Help { get; private init; }

    /// <summary>Rounds, and warm-up and measured window of each, of a request run (one system, one parameter).</summary>
    public Durations Requests => Mode switch
    {
        RunMode.Full => new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 5),
        RunMode.Quick => new(TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(0.4), 3),
        _ => new(TimeSpan.FromSeconds(0.2), TimeSpan.FromSeconds(0.6), 1),
    };

    /// <summary>Warm-up and measured window of one stream run.</summary>
    public Durations Streams => Requests;

    /// <summary>Warm-up and measured window of the slow-consumer run (long enough for buffers to fill if they would).</summary>
    public Durations SlowConsumer => Mode switch
    {
        RunMode.Full => new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8)),
        RunMode.Quick => new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)),
        _ => new(TimeSpan.FromSeconds(0.3), TimeSpan.FromSeconds(0.7)),
    };

    /// <summary>How many cuts the link-cut scenario makes per system.</summary>
    public int LinkCuts => Mode switch
    {
        RunMode.Full => 10,
        RunMode.Quick => 3,
        _ => 1,
    };

    /// <summary>True when the run should write results/latest.*.</summary>
    public bool WriteResults => Mode != RunMode.Smoke || OutputDirectory is not null;

    /// <summary>True when the scenario named <paramref name="scenario"/> is selected.</summary>
    public bool Selects(string scenario) =>
        Filters.Count == 0 || Filters.Any(f => scenario.Contains(f, StringComparison.OrdinalIgnoreCase));

    /// <summary>True when the system named <paramref name="system"/> is selected.</summary>
    public bool SelectsSystem(string system) =>
        Systems.Count == 0 || Systems.Contains(system, StringComparer.OrdinalIgnoreCase);

    /// <summary>The usage text.</summary>
    public static string Usage => """
        Grid.Reactive benchmarks: the grid against gRPC for .NET, ASP.NET Core SignalR and the raw-transport ceiling.

        dotnet run -c Release --project Grid.Reactive.Benchmarks [-- options]
          --quick              every scenario, short (under two minutes)
          --smoke              about a second per system; checks only that every system answers correctly (CI)
          --filter a,b         only scenarios whose name contains a or b (single, mesh, stream, bidi, alloc,
                               slow-consumer, link-cut)
          --systems a,b        only these systems (grid, grpc, signalr, ws-raw, tcp-raw)
          --tls                every system over TLS (wss, HTTPS with h2), one private CA made in memory;
                               writes tls.md and tls.json instead of latest.*
          --alloc-types        alloc scenario: also name the types each system allocates most (notes)
          --signalr-connections N
                               HubConnections per pair of nodes for signalr's requests (default 1)
          --mesh-concurrency a,b
                               mesh: also run its largest size (8 nodes; 4 in --smoke) at these total
                               concurrencies (e.g. 1792: as many calls per link as 2 nodes have at 64)
          --out DIR            write latest.md and latest.json (tls.* with --tls) to DIR (default: Grid.Reactive.Benchmarks/results)
          --micro [BDN args]   BenchmarkDotNet micro benchmarks instead (codec, merge); e.g. --micro --filter '*'
          --stress             the stress races at million-interleaving counts instead; exits 1 on any violation
                               (--filter selects races: cancel, deadline, abort, dispose, throwing, stream)
          --stress-scale F     multiplies every stress race's count (e.g. 0.01 for a quick pass)
          --scale              a whole grid in this process in virtual time: memory, timers and pings per idle
                               connection, and the redial storm after a partition heals (writes results/scale.md)
          --scale-nodes a,b    the grid sizes of --scale (default 64,256,512)
          --scale-seed N       the seed of --scale's reconnect jitter (default 1)
        """;

    /// <summary>Parses the command line.</summary>
    /// <exception cref="ArgumentException">An option is unknown or lacks its value.</exception>
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var mode = RunMode.Full;
        List<string> filters = [], systems = [];
        string? output = null;
        var allocationTypes = false;
        int? signalRConnections = null;
        var stress = false;
        var stressScale = 1.0;
        var scaleMode = false;
        List<int> scaleNodes = [];
        var scaleSeed = 1;
        List<int> meshConcurrencies = [];
        var tls = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    mode = RunMode.Quick;
                    break;
                case "--smoke":
                    mode = RunMode.Smoke;
                    break;
                case "--filter":
                    filters.AddRange(Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--systems":
                    systems.AddRange(Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--tls":
                    tls = true;
                    break;
                case "--alloc-types":
                    allocationTypes = true;
                    break;
                case "--signalr-connections":
                    signalRConnections = int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var connections) && connections > 0
                        ? connections
                        : throw new ArgumentException($"Option '--signalr-connections' needs a positive number.\n\n{Usage}");
                    break;
                case "--stress":
                    stress = true;
                    break;
                case "--stress-scale":
                    stressScale = double.TryParse(Value(args, ref i), NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) && scale > 0
                        ? scale
                        : throw new ArgumentException($"Option '--stress-scale' needs a positive number.\n\n{Usage}");
                    break;
                case "--scale":
                    scaleMode = true;
                    break;
                case "--scale-nodes":
                    foreach (var size in Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        scaleNodes.Add(int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var nodes) && nodes >= 2
                            ? nodes
                            : throw new ArgumentException($"Option '--scale-nodes' needs node counts of at least 2.\n\n{Usage}"));
                    }

                    break;
                case "--mesh-concurrency":
                    foreach (var level in Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        meshConcurrencies.Add(int.TryParse(level, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c > 0
                            ? c
                            : throw new ArgumentException($"Option '--mesh-concurrency' needs positive numbers.\n\n{Usage}"));
                    }

                    break;
                case "--scale-seed":
                    scaleSeed = int.TryParse(Value(args, ref i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed)
                        ? seed
                        : throw new ArgumentException($"Option '--scale-seed' needs a number.\n\n{Usage}");
                    break;
                case "--out":
                    output = Value(args, ref i);
                    break;
                case "--micro":
                    return new RunOptions { Micro = true, MicroArguments = [.. args.Skip(i + 1)] };
                case "--help" or "-h":
                    return new RunOptions { Help = true };
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'.\n\n{Usage}");
            }
        }

        return new RunOptions
        {
            Mode = mode, Filters = filters, Systems = systems, OutputDirectory = output, AllocationTypes = allocationTypes,
            SignalRConnections = signalRConnections, Stress = stress, StressScale = stressScale,
            Scale = scaleMode, ScaleNodes = scaleNodes.Count > 0 ? scaleNodes : [64, 256, 512], ScaleSeed = scaleSeed,
            MeshConcurrencies = meshConcurrencies, Tls = tls,
        };
    }

    private static string Value(IReadOnlyList<string> args, ref int i) =>
        i + 1 < args.Count ? args[++i] : throw new ArgumentException($"Option '{args[i]}' needs a value.\n\n{Usage}");
}
