using System.Globalization;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// Which seeds a run of the simulation fixture covers. By default the fixed CI set; more with a test run parameter
/// or an environment variable:
/// <list type="bullet">
/// <item><c>SimulationSeeds</c> / <c>GRID_SIMULATION_SEEDS</c>: a count <c>N</c> (seeds 1 to N), a range <c>A-B</c>,
/// or a list <c>A,B,C</c>.</item>
/// <item><c>SimulationSeed</c> / <c>GRID_SIMULATION_SEED</c>: replay exactly one seed, writing its whole trace to a file.</item>
/// </list>
/// </summary>
internal static class SimulationSeeds
{
    public const string ManyParameter = "SimulationSeeds";
    public const string ManyVariable = "GRID_SIMULATION_SEEDS";
    public const string OneParameter = "SimulationSeed";
    public const string OneVariable = "GRID_SIMULATION_SEED";

    private const string Test = nameof(SimulationTests) + "." + nameof(SimulationTests.Seeds_KeepEveryInvariant);

    /// <summary>The seeds CI runs: fixed, so a red CI is a real change, and few, so it stays fast.</summary>
    public static IReadOnlyList<int> Ci { get; } = [.. Enumerable.Range(1, 100)];

    /// <summary>The seed to replay alone, if one was asked for.</summary>
    public static int? Replay => Setting(OneParameter, OneVariable) is { } one ? Parse(one) : null;

    public static IReadOnlyList<int> Selected()
    {
        if (Replay is { } seed)
        {
            return [seed];
        }

        if (Setting(ManyParameter, ManyVariable) is not { } many)
        {
            return Ci;
        }

        if (many.Contains(',', StringComparison.Ordinal))
        {
            return [.. many.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse)];
        }

        var dash = many.IndexOf('-', 1);
        if (dash > 0)
        {
            var from = Parse(many[..dash]);
            return [.. Enumerable.Range(from, Parse(many[(dash + 1)..]) - from + 1)];
        }

        return [.. Enumerable.Range(1, Parse(many))];
    }

    /// <summary>How to replay <paramref name="seed"/> of <paramref name="test"/> (a <c>Fixture.Method</c>; by default the plain simulation).</summary>
    public static string ReplayCommand(int seed, string test = Test) => string.Create(CultureInfo.InvariantCulture,
        $"dotnet test -c Release --filter \"FullyQualifiedName~{test}\" -- 'TestRunParameters.Parameter(name=\"{OneParameter}\", value=\"{seed}\")'   (or: {OneVariable}={seed} dotnet test -c Release --filter \"FullyQualifiedName~{test}\")");

    private static string? Setting(string parameter, string variable)
    {
        var value = TestContext.Parameters.Get(parameter) ?? Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static int Parse(string text) => int.Parse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
}
