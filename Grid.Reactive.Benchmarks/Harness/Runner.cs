using Grid.Reactive.Benchmarks.Scenarios;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>Runs the selected scenarios in order, prints their tables, writes results/latest.md and latest.json (tls.* for a TLS run).</summary>
public static class Runner
{
    /// <summary>Every scenario, in the issue's order.</summary>
    public static IReadOnlyList<IScenario> Scenarios { get; } =
    [
        new SingleScenario(), new MeshScenario(), new StreamScenario(), new BidiScenario(), new AllocScenario(),
        new SlowConsumerScenario(), new LinkCutScenario(),
    ];

    /// <summary>Runs; returns the process exit code: 0 when every system that ran answered correctly.</summary>
    public static async Task<int> RunAsync(RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var selected = Scenarios.Where(s => options.Selects(s.Name)).ToList();
        if (selected.Count == 0)
        {
            await Console.Error.WriteLineAsync($"No scenario matches the filter. Scenarios: {string.Join(", ", Scenarios.Select(s => s.Name))}.");
            return 2;
        }

        var results = new ResultSet();
        using var tls = options.Tls ? new BenchTls() : null;
        var context = new BenchContext(options, results, tls);
        if (tls is not null)
        {
            results.Note("tls: every system over TLS with one private CA and one node certificate (127.0.0.1, RSA 2048) made in memory; every client checks the server's chain against that CA alone and its name. grid: WebSocketTransport with GridTlsOptions (ServerCertificate, TrustedRoots = the CA, channel binding on: the default); grpc: Kestrel HTTPS with HTTP/2 (ALPN h2), GrpcChannel over gRPC's own default handler (SocketsHttpHandler, EnableMultipleHttp2Connections) with SslOptions.RemoteCertificateValidationCallback; signalr: Kestrel HTTPS, HubConnection over wss (WebSocketConfiguration sets the callback); ws-raw: Kestrel HTTPS, ClientWebSocket over wss; tcp-raw: an SslStream around each end, one write per message. TLS 1.3 or 1.2 as the OS negotiates; no client certificates.");
        }

        context.Progress($"mode {options.Mode.ToString().ToLowerInvariant()}{(options.Tls ? ", TLS" : "")}, {Environment.ProcessorCount} cores, scenarios: {string.Join(", ", selected.Select(s => s.Name))}; systems: {string.Join(", ", context.EchoSystems.Select(s => s.Name))}");
        foreach (var scenario in selected)
        {
            Console.WriteLine();
            context.Progress($"== {scenario.Name}: {scenario.Description}");
            try
            {
                await scenario.RunAsync(context);
            }
            catch (Exception ex)
            {
                results.Failed(scenario.Name, "harness", "-", [], $"the scenario crashed: {ex}");
                context.Progress($"{scenario.Name}: CRASHED: {ex.GetType().Name}: {ex.Message}");
            }

            Console.WriteLine();
            Console.WriteLine(Report.ScenarioTable(results, scenario.Name));
        }

        if (tls?.Negotiated is { } negotiated)
        {
            results.Note($"tls: negotiated {negotiated} (tcp-raw's handshake; the others use the same TLS stack and certificate)");
        }

        var projectDirectory = ProjectDirectory();
        var machine = MachineInfo.Current(projectDirectory);
        var markdown = Report.Markdown(results, machine, options.Mode, selected.Select(s => s.Name), options.Tls);
        if (options.WriteResults)
        {
            var output = options.OutputDirectory ?? Path.Combine(projectDirectory, "results");
            Directory.CreateDirectory(output);
            // A TLS run writes tls.md and tls.json: the plain results beside them stay as they were.
            var name = options.ResultsName;
            await File.WriteAllTextAsync(Path.Combine(output, name + ".md"), markdown);
            await File.WriteAllTextAsync(Path.Combine(output, name + ".json"), Report.Json(results, machine, options.Mode, options.Tls));
            context.Progress($"wrote {Path.Combine(output, name + ".md")} and {name}.json");
        }

        if (results.Failures.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"{results.Failures.Count} system run(s) FAILED:");
            foreach (var failure in results.Failures)
            {
                Console.WriteLine($"  - {failure}");
            }

            return 1;
        }

        context.Progress(options.Mode == RunMode.Smoke
            ? "smoke: every system that ran completed its calls correctly"
            : "done: every system that ran completed its calls correctly");
        return 0;
    }

    /// <summary>The benchmark project's folder (for results/ and the git commit), else the current directory.</summary>
    internal static string ProjectDirectory()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Grid.Reactive.Benchmarks.csproj")))
                {
                    return directory.FullName;
                }

                var nested = Path.Combine(directory.FullName, "Grid.Reactive.Benchmarks");
                if (File.Exists(Path.Combine(nested, "Grid.Reactive.Benchmarks.csproj")))
                {
                    return nested;
                }
            }
        }

        return Environment.CurrentDirectory;
    }
}
