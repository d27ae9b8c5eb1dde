using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Text;
using BenchmarkDotNet.Attributes;
using Grid.Reactive.Benchmarks.GridSystem;

namespace Grid.Reactive.Benchmarks.Micro;

/// <summary>
/// One 512 B request round trip between two managers over the in-memory transport (default scheduler: the thread
/// pool), so the protocol's own cost shows without sockets: awaited the documented way, through ToTask, as a task
/// (<c>RequestAsync</c>, with and without a cancellable token), and to a handler that takes a <see cref="RequestContext"/>.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet's GlobalCleanup disposes it.")]
public class InMemoryRequestBenchmarks
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("grid-reactive-benchmark-shared-secret");
    private static readonly HandlerId ContextEcho = new(2);

    private readonly byte[] _payload = new byte[512];
    private Manager? _caller;
    private Manager? _server;
    private Connection? _connection;
    private readonly CancellationTokenSource _cancellation = new();

    /// <summary>Starts two connected managers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string[] addresses = ["mem-a", "mem-b"];
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        _caller = NewNode(addresses[0], addresses, network);
        _server = NewNode(addresses[1], addresses, network);
        _server.StartAsync().AsTask().GetAwaiter().GetResult();
        _caller.StartAsync().AsTask().GetAwaiter().GetResult();
        GridEchoSystem.AllConnectedAsync(_caller, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        _connection = _caller.Connection(addresses[1]);
    }

    /// <summary>Stops the managers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _caller?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _cancellation.Dispose();
    }

    /// <summary><c>await connection.Request(...)</c>.</summary>
    [Benchmark(Baseline = true)]
    public async Task<int> RequestAwait() => (await _connection!.Request(GridEchoSystem.Echo, _payload)).Length;

    /// <summary><c>connection.Request(...).ToTask()</c>.</summary>
    [Benchmark]
    public async Task<int> RequestToTask() =>
        (await System.Reactive.Threading.Tasks.TaskObservableExtensions.ToTask(_connection!.Request(GridEchoSystem.Echo, _payload))).Length;

    /// <summary><c>await connection.RequestAsync(...)</c>.</summary>
    [Benchmark]
    public async Task<int> RequestAsync() => (await _connection!.RequestAsync(GridEchoSystem.Echo, _payload)).Length;

    /// <summary><c>await connection.RequestAsync(..., cancellationToken)</c> with a token that can be cancelled (and is not).</summary>
    [Benchmark]
    public async Task<int> RequestAsyncCancellable() =>
        (await _connection!.RequestAsync(GridEchoSystem.Echo, _payload, cancellationToken: _cancellation.Token)).Length;

    /// <summary><c>await connection.Request(...)</c> to a handler registered with a <see cref="RequestContext"/>.</summary>
    [Benchmark]
    public async Task<int> RequestAwaitContextHandler() => (await _connection!.Request(ContextEcho, _payload)).Length;

    private static Manager NewNode(string address, string[] addresses, InMemoryNetwork network)
    {
        var node = new Manager(new ManagerOptions
        {
            Address = address,
            Remotes = addresses,
            Transport = network,
            Authenticator = new SharedSecretAuthenticator(Secret),
        });
        node.Register(GridEchoSystem.Echo, static (payload, _) => ValueTask.FromResult(payload));
        node.Register(ContextEcho, static (RequestContext _, byte[] payload) => ValueTask.FromResult(payload));
        return node;
    }
}
