using System.Diagnostics;
using System.Globalization;
using Grid.Reactive.Benchmarks.GridSystem;
using Grid.Reactive.Benchmarks.Grpc;
using Grid.Reactive.Benchmarks.SignalRSystem;
using Grid.Reactive.Benchmarks.Systems;
using Grid.Reactive.Benchmarks.TcpRaw;
using Grid.Reactive.Benchmarks.WsRaw;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>What every scenario runs with: options, the systems, the results, and progress output.</summary>
/// <param name="options">The command line.</param>
/// <param name="results">Where figures go.</param>
/// <param name="tls">The certificates of a <c>--tls</c> run (every system then runs over TLS); null for plain runs.</param>
public sealed class BenchContext(RunOptions options, ResultSet results, BenchTls? tls = null)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>The command line.</summary>
    public RunOptions Options { get; } = options;

    /// <summary>Where figures go.</summary>
    public ResultSet Results { get; } = results;

    /// <summary>The certificates of a TLS run, or null: systems made by a scenario itself must be given it too.</summary>
    public BenchTls? Tls { get; } = tls;

    /// <summary>True in smoke mode: correctness only, shortest runs, fewest parameters.</summary>
    public bool Smoke => Options.Mode == RunMode.Smoke;

    /// <summary>The request systems selected, in table order.</summary>
    public IReadOnlyList<IEchoSystem> EchoSystems { get; } =
        ((IEchoSystem[])
        [
            new GridEchoSystem(tls: tls), new GrpcEchoSystem(tls), new SignalREchoSystem(options.SignalRConnections ?? SignalREchoSystem.DefaultConnectionsPerPair, tls),
            new WsRawEchoSystem(tls), new TcpRawSystem(tls),
        ])
        .Where(s => options.SelectsSystem(s.Name)).ToList();

    /// <summary>The stream systems selected, in table order.</summary>
    public IReadOnlyList<IStreamSystem> StreamSystems { get; } =
        ((IStreamSystem[])[new GridStreamSystem(tls), new GrpcStreamSystem(tls), new SignalRStreamSystem(tls), new WsRawStreamSystem(tls)])
        .Where(s => options.SelectsSystem(s.Name)).ToList();

    /// <summary>A cancellation token for starting servers: generous, so a hang fails the run instead of stalling it.</summary>
    public static CancellationToken StartTimeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    /// <summary>Prints a progress line, prefixed with the time since the run started.</summary>
    public void Progress(string line) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:0.0}s] {line}"));

    /// <summary>Formats a figure for progress lines.</summary>
    public static string F(double value) => Report.Format(value);
}
