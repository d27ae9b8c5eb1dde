using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>Turns a <see cref="ResultSet"/> into the console/Markdown tables and into latest.json.</summary>
public static class Report
{
    /// <summary>Markdown tables for one scenario: a row per parameter and metric, a column per system, then grid's ratios.</summary>
    public static string ScenarioTable(ResultSet results, string scenario)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = results.Rows.Where(r => r.Scenario == scenario).ToList();
        if (rows.Count == 0)
        {
            return "";
        }

        var systems = ResultSet.SystemOrder.Where(s => rows.Any(r => r.System == s)).ToList();
        var others = systems.Where(s => s != "grid").ToList();
        var withRatios = systems.Contains("grid") ? others : [];
        var keys = rows.Select(r => (r.Param, r.Metric)).Distinct().ToList();

        var table = new StringBuilder();
        table.Append("| param | metric | ").AppendJoin(" | ", systems);
        foreach (var other in withRatios)
        {
            table.Append(" | grid/").Append(other);
        }

        table.AppendLine(" |");
        table.Append("|---|---|").Append(string.Concat(Enumerable.Repeat("---:|", systems.Count + withRatios.Count))).AppendLine();
        foreach (var (param, metric) in keys)
        {
            table.Append("| ").Append(param).Append(" | ").Append(metric);
            foreach (var system in systems)
            {
                table.Append(" | ").Append(Cell(results, scenario, system, param, metric));
            }

            foreach (var other in withRatios)
            {
                var ratio = Ratio(results, scenario, param, metric, other);
                table.Append(" | ").Append(ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "");
            }

            table.AppendLine(" |");
        }

        return table.ToString();
    }

    /// <summary>The whole Markdown report: machine, every scenario's table, notes and failures; a TLS run says so in every heading.</summary>
    public static string Markdown(ResultSet results, MachineInfo machine, RunMode mode, IEnumerable<string> scenarios, bool tls = false)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(machine);
        var label = tls ? " (TLS)" : "";
        var text = new StringBuilder();
        text.Append("# Grid.Reactive benchmark results").AppendLine(label).AppendLine();
        text.Append(CultureInfo.InvariantCulture,
            $"- mode: {mode.ToString().ToLowerInvariant()}\n- tls: {(tls ? "true (every system over TLS: wss, HTTPS with ALPN h2, tcp-raw in an SslStream; one private CA and node certificate made in memory)" : "false")}\n- machine: {machine.Cores} cores, {machine.Os}\n- runtime: {machine.Runtime}, {machine.Gc} GC\n- commit: {machine.Commit ?? "unknown"}\n- date: {machine.Date:yyyy-MM-dd HH:mm} UTC\n\n");
        text.AppendLine("Ratios are grid ÷ other system: above 1 means more for grid (good for rates, bad for latencies, thread-pool work items, memory, allocations and recovery times).").AppendLine();
        foreach (var scenario in scenarios)
        {
            var table = ScenarioTable(results, scenario);
            if (table.Length > 0)
            {
                text.Append("## ").Append(scenario).AppendLine(label).AppendLine().AppendLine(table);
            }
        }

        if (results.Notes.Count > 0)
        {
            text.AppendLine("## Notes").AppendLine();
            foreach (var note in results.Notes)
            {
                text.Append("- ").AppendLine(note);
            }

            text.AppendLine();
        }

        if (results.Failures.Count > 0)
        {
            text.AppendLine("## Failures").AppendLine();
            foreach (var failure in results.Failures)
            {
                text.Append("- ").AppendLine(failure);
            }
        }

        return text.ToString();
    }

    /// <summary>latest.json (tls.json): mode, tls, machine, rows <c>{"scenario","system","param","metric","value"}</c>, grid's ratios, notes, failures.</summary>
    public static string Json(ResultSet results, MachineInfo machine, RunMode mode, bool tls = false)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(machine);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("mode", mode.ToString().ToLowerInvariant());
            json.WriteBoolean("tls", tls);
            json.WriteStartObject("machine");
            json.WriteNumber("cores", machine.Cores);
            json.WriteString("os", machine.Os);
            json.WriteString("dotnet", machine.Runtime);
            json.WriteString("gc", machine.Gc);
            json.WriteString("commit", machine.Commit);
            json.WriteString("date", machine.Date.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            json.WriteEndObject();

            json.WriteStartArray("results");
            foreach (var row in results.Rows)
            {
                json.WriteStartObject();
                json.WriteString("scenario", row.Scenario);
                json.WriteString("system", row.System);
                json.WriteString("param", row.Param);
                json.WriteString("metric", row.Metric);
                if (row.Value is { } value)
                {
                    json.WriteNumber("value", Math.Round(value, 3));
                }
                else
                {
                    json.WriteNull("value");
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();

            json.WriteStartArray("ratios");
            foreach (var row in results.Rows.Where(r => r.System == "grid"))
            {
                foreach (var other in ResultSet.SystemOrder.Skip(1))
                {
                    if (Ratio(results, row.Scenario, row.Param, row.Metric, other) is { } ratio)
                    {
                        json.WriteStartObject();
                        json.WriteString("scenario", row.Scenario);
                        json.WriteString("param", row.Param);
                        json.WriteString("metric", row.Metric);
                        json.WriteString("ratio", "grid/" + other);
                        json.WriteNumber("value", Math.Round(ratio, 4));
                        json.WriteEndObject();
                    }
                }
            }

            json.WriteEndArray();
            WriteStrings(json, "notes", results.Notes);
            WriteStrings(json, "failures", results.Failures);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>Formats a figure for a table: thousands separators for large values, a few decimals for small ones.</summary>
    public static string Format(double value) => Math.Abs(value) switch
    {
        >= 1000 => value.ToString("#,0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    private static string Cell(ResultSet results, string scenario, string system, string param, string metric)
    {
        if (results.Value(scenario, system, param, metric) is { } value)
        {
            return Format(value);
        }

        return results.MissingReason(scenario, system, param) ?? "";
    }

    private static double? Ratio(ResultSet results, string scenario, string param, string metric, string other)
    {
        var grid = results.Value(scenario, "grid", param, metric);
        var baseline = results.Value(scenario, other, param, metric);
        return grid is { } g && baseline is { } b && b != 0 ? g / b : null;
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }
}
