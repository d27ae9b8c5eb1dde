namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>One figure, as written to latest.json: <c>{"scenario","system","param","metric","value"}</c>.</summary>
/// <param name="Scenario">single, mesh, stream, bidi, alloc, slow-consumer or link-cut.</param>
/// <param name="System">grid, grpc, signalr, ws-raw or tcp-raw.</param>
/// <param name="Param">What varies within the scenario, such as <c>c=64</c>, <c>nodes=4</c> or <c>size=512</c>.</param>
/// <param name="Metric">req_per_s, p50_us, p99_us, threadpool_items_per_op, msgs_per_s, mb_per_s, alloc_bytes_per_op, peak_mb, recover_ms, ...</param>
/// <param name="Value">The figure; null when the system could not be measured (see the run's notes for why).</param>
public sealed record ResultRow(string Scenario, string System, string Param, string Metric, double? Value);

/// <summary>Every figure of a run, with why figures are missing and which systems failed their checks.</summary>
public sealed class ResultSet
{
    /// <summary>The systems in the order tables show them.</summary>
    public static readonly IReadOnlyList<string> SystemOrder = ["grid", "grpc", "signalr", "ws-raw", "tcp-raw"];

    private readonly List<ResultRow> _rows = [];
    private readonly Dictionary<(string Scenario, string System, string Param), string> _missing = [];
    private readonly List<string> _failures = [];
    private readonly List<string> _notes = [];

    /// <summary>The figures, in the order they were measured.</summary>
    public IReadOnlyList<ResultRow> Rows => _rows;

    /// <summary>Systems that failed their checks or could not run: each entry says which and why.</summary>
    public IReadOnlyList<string> Failures => _failures;

    /// <summary>Notes on the run (what a system did differently, why figures are missing).</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>Records a figure.</summary>
    public void Add(string scenario, string system, string param, string metric, double value) =>
        _rows.Add(new ResultRow(scenario, system, param, metric, double.IsFinite(value) ? value : null));

    /// <summary>Records that <paramref name="system"/> has no figures here for a known reason that is not a failure.</summary>
    public void NotAvailable(string scenario, string system, string param, IEnumerable<string> metrics, string reason)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var metric in metrics)
        {
            _rows.Add(new ResultRow(scenario, system, param, metric, null));
        }

        _missing[(scenario, system, param)] = $"n/a ({reason})";
    }

    /// <summary>Records that <paramref name="system"/> failed here: no figures, and the run fails.</summary>
    public void Failed(string scenario, string system, string param, IEnumerable<string> metrics, string error)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var metric in metrics)
        {
            _rows.Add(new ResultRow(scenario, system, param, metric, null));
        }

        _missing[(scenario, system, param)] = "failed";
        _failures.Add($"{scenario} {system} {param}: {error}");
    }

    /// <summary>Adds a note to the report.</summary>
    public void Note(string note)
    {
        if (!_notes.Contains(note))
        {
            _notes.Add(note);
        }
    }

    /// <summary>Why a figure is missing, or null.</summary>
    public string? MissingReason(string scenario, string system, string param) =>
        _missing.TryGetValue((scenario, system, param), out var reason) ? reason : null;

    /// <summary>The figure, or null.</summary>
    public double? Value(string scenario, string system, string param, string metric) =>
        _rows.LastOrDefault(r => r.Scenario == scenario && r.System == system && r.Param == param && r.Metric == metric)?.Value;
}
