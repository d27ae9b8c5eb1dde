namespace Grid.Reactive;

/// <summary>
/// The names under which the grid publishes its telemetry: its <see cref="System.Diagnostics.Metrics.Meter"/>, its
/// <see cref="System.Diagnostics.ActivitySource"/> and the prefix of its log categories. For OpenTelemetry:
/// <c>AddMeter(GridDiagnostics.MeterName)</c> and <c>AddSource(GridDiagnostics.ActivitySourceName)</c>; for
/// dotnet-counters: <c>--counters Grid.Reactive</c>.
/// </summary>
public static class GridDiagnostics
{
    /// <summary>The name of the grid's meter: <c>Grid.Reactive</c>.</summary>
    public const string MeterName = "Grid.Reactive";

    /// <summary>The name of the grid's activity source: <c>Grid.Reactive</c>.</summary>
    public const string ActivitySourceName = "Grid.Reactive";

    /// <summary>
    /// The prefix of every log category of the grid: <c>Grid.Reactive.Manager</c>, <c>Grid.Reactive.Connection</c>,
    /// <c>Grid.Reactive.Session</c>, <c>Grid.Reactive.Transport</c> and <c>Grid.Reactive.UserCode</c>.
    /// </summary>
    public const string LogCategoryPrefix = "Grid.Reactive";

    /// <summary>The value of the <c>rpc.system</c> attribute on the grid's spans and call metrics: <c>grid.reactive</c>.</summary>
    public const string RpcSystem = "grid.reactive";

    internal static readonly string Version =
        typeof(GridDiagnostics).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
