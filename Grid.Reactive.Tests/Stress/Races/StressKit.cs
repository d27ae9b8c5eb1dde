// Compiled into Grid.Reactive.Tests and, linked, into Grid.Reactive.Benchmarks: the tests run each race briefly in CI,
// the benchmark's --stress mode runs the same races for millions of interleavings.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Stress;

/// <summary>Which transport a race runs on.</summary>
public enum StressTransport
{
    /// <summary>An <see cref="InMemoryNetwork"/> on <see cref="DefaultScheduler.Instance"/>, without latency.</summary>
    InMemory,

    /// <summary>Real loopback WebSockets (Kestrel and ClientWebSocket).</summary>
    WebSocket,
}

/// <summary>What one race found: how often it ran, how its calls ended, and every violation of its invariants.</summary>
internal sealed class StressResult(string name)
{
    private const int Kept = 40;
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentDictionary<string, long> _outcomes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _kinds = new(StringComparer.Ordinal);
    private long _violationCount;
    private long _iterations;

    public string Name => name;

    /// <summary>Interleavings run (one per call, stream, round or dispose, as the race counts them).</summary>
    public long Iterations => Interlocked.Read(ref _iterations);

    public long ViolationCount => Interlocked.Read(ref _violationCount);

    /// <summary>The first violations found (at most 40 are kept; <see cref="ViolationCount"/> counts all).</summary>
    public IReadOnlyList<string> Violations => [.. _violations];

    /// <summary>How the calls ended, by outcome (for the report; never asserted, as it depends on timing).</summary>
    public IReadOnlyDictionary<string, long> Outcomes => new SortedDictionary<string, long>(_outcomes, StringComparer.Ordinal);

    public TimeSpan Elapsed { get; set; }

    public void Iterated(long count = 1) => Interlocked.Add(ref _iterations, count);

    public void Count(string outcome) => _outcomes.AddOrUpdate(outcome, 1, static (_, n) => n + 1);

    /// <summary>Violations by kind (their text up to the first colon after "violation: "), all of them counted.</summary>
    public IReadOnlyDictionary<string, long> ViolationKinds => new SortedDictionary<string, long>(_kinds, StringComparer.Ordinal);

    public void Violation(string text)
    {
        var colon = text.IndexOf(':', "violation: ".Length);
        _kinds.AddOrUpdate(colon < 0 ? text : text[..colon], 1, static (_, n) => n + 1);
        if (Interlocked.Increment(ref _violationCount) <= Kept)
        {
            _violations.Enqueue(text);
        }
    }

    /// <summary>Violations whose text contains <paramref name="fragment"/> (to tell a known bug's from any other).</summary>
    public IReadOnlyList<string> ViolationsWith(string fragment) =>
        [.. _violations.Where(v => v.Contains(fragment, StringComparison.Ordinal))];

    public override string ToString()
    {
        var outcomes = string.Join(", ", Outcomes.Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Key} {o.Value:N0}")));
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {Iterations:N0} iterations in {Elapsed.TotalSeconds:0.0} s, {ViolationCount:N0} violations ({outcomes})");
        return ViolationCount == 0 ? text : text + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", Violations);
    }
}

/// <summary>
/// One call's notifications as its observer saw them, in order, each marked with whether it began after the call's
/// subscription was disposed (Dispose had returned before the observer was entered): the user's view, and only that.
/// </summary>
internal sealed class CallRecord : IObserver<byte[]>
{
    /// <summary>The marker of a notification that began after Dispose returned.</summary>
    public const string AfterDispose = "after Dispose returned";

    private readonly Lock _gate = new();
    private readonly List<string> _seen = new(2);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _expected;
    private volatile bool _disposeReturned;
    private volatile bool _disposeBegan;
    private bool _disposed;
    private bool _nextExited;
    private bool _disposedBeforeNextExited;
    private string? _value;
    private Exception? _error;

    /// <param name="expected">The answer this call must get, and no other call.</param>
    /// <param name="throwInOnNext">The observer throws from OnNext (after recording it).</param>
    /// <param name="throwInOnError">The observer throws from OnError (after recording it).</param>
    /// <param name="workInOnNext">Spins this many iterations inside OnNext: an observer doing some work.</param>
    public CallRecord(string expected, bool throwInOnNext = false, bool throwInOnError = false, int workInOnNext = 0)
    {
        _expected = expected;
        ThrowInOnNext = throwInOnNext;
        ThrowInOnError = throwInOnError;
        WorkInOnNext = workInOnNext;
    }

    public bool ThrowInOnNext { get; }

    public bool ThrowInOnError { get; }

    public int WorkInOnNext { get; }

    /// <summary>Completes at the first terminal notification.</summary>
    public Task Ended => _ended.Task;

    /// <summary>True once the observer got anything.</summary>
    public bool Started
    {
        get
        {
            lock (_gate)
            {
                return _seen.Count > 0;
            }
        }
    }

    /// <summary>The error the observer got, if any.</summary>
    public Exception? Error
    {
        get
        {
            lock (_gate)
            {
                return _error;
            }
        }
    }

    /// <summary>
    /// True when nothing more is owed to the observer: it ended; or it was disposed and got nothing or just its answer
    /// with a Dispose begun before OnNext returned; or it threw and so is owed nothing more.
    /// </summary>
    public bool Settled
    {
        get
        {
            lock (_gate)
            {
                if (_ended.Task.IsCompleted || (ThrowInOnNext && _nextExited))
                {
                    return true;
                }

                return _disposed && (_seen.Count == 0 || (_nextExited && _disposedBeforeNextExited));
            }
        }
    }

    /// <summary>Call right before the subscription's Dispose: a dispose under way may stop an OnCompleted after OnNext.</summary>
    public void DisposeBegins() => _disposeBegan = true;

    /// <summary>Call right after the subscription's Dispose returned.</summary>
    public void DisposeReturned()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _disposeReturned = true;
    }

    public void OnNext(byte[] value)
    {
        var late = _disposeReturned;
        lock (_gate)
        {
            _seen.Add(late ? "OnNext " + AfterDispose : "OnNext");
            _value = Encoding.UTF8.GetString(value);
        }

        if (WorkInOnNext > 0)
        {
            Thread.SpinWait(WorkInOnNext);
        }

        lock (_gate)
        {
            _nextExited = true;
            _disposedBeforeNextExited = _disposeBegan;
        }

        if (ThrowInOnNext)
        {
            throw new InvalidOperationException("observer threw in OnNext (on purpose)");
        }
    }

    public void OnError(Exception error)
    {
        var late = _disposeReturned;
        lock (_gate)
        {
            _seen.Add((late ? "OnError " + AfterDispose : "OnError") + " " + error.GetType().Name);
            _error ??= error;
        }

        _ended.TrySetResult();
        if (ThrowInOnError)
        {
            throw new InvalidOperationException("observer threw in OnError (on purpose)");
        }
    }

    public void OnCompleted()
    {
        var late = _disposeReturned;
        lock (_gate)
        {
            _seen.Add(late ? "OnCompleted " + AfterDispose : "OnCompleted");
        }

        _ended.TrySetResult();
    }

    /// <summary>
    /// The call's outcome for the report, or a violation (starting with "violation: "): exactly OnNext (the expected
    /// answer) and OnCompleted, or one allowed error; after a dispose also nothing, or only the answer when a Dispose
    /// began while OnNext ran; an observer that threw gets nothing more; nothing ever begins after Dispose returned.
    /// </summary>
    public string Check(Func<Exception, bool> allowedError)
    {
        lock (_gate)
        {
            var seen = string.Join(", ", _seen);
            string Broken(string why) => $"violation: {why}: call '{_expected}' saw [{seen}]" + (_error is null ? "" : $" ({_error.GetType().Name}: {_error.Message})");

            if (_seen.Any(s => s.Contains(AfterDispose, StringComparison.Ordinal)))
            {
                return Broken("a notification began " + AfterDispose);
            }

            var kinds = _seen.Select(s => s.Split(' ')[0]).ToArray();
            switch (kinds)
            {
                case []:
                    return _disposed ? "disposed first" : Broken("no ending");
                case ["OnNext"] when ThrowInOnNext:
                case ["OnNext"] when _disposed && _disposedBeforeNextExited:
                case ["OnNext", "OnCompleted"] when !ThrowInOnNext:
                    return _value == _expected ? (_disposed ? "answered (disposed late)" : "answered") : Broken($"the wrong answer '{_value}'");
                case ["OnNext"]:
                    return Broken("OnNext without OnCompleted");
                case ["OnNext", ..] when ThrowInOnNext:
                    return Broken("a notification after the observer threw");
                case ["OnError"] when allowedError(_error!):
                    return _error!.GetType().Name;
                case ["OnError"]:
                    return Broken("an error this race never allows");
                default:
                    return Broken("more than one ending");
            }
        }
    }
}

/// <summary>Counts the grid's log: user callbacks that threw (expected in some races), and any other error (never).</summary>
internal sealed class StressLogger : ILogger
{
    private readonly ConcurrentQueue<string> _failures = new();
    private long _userCallbackFailures;

    public long UserCallbackFailures => Interlocked.Read(ref _userCallbackFailures);

    /// <summary>Errors logged other than a user callback's: a failure inside the grid itself.</summary>
    public IReadOnlyList<string> InternalFailures => [.. _failures];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel < LogLevel.Error)
        {
            return;
        }

        var text = formatter(state, exception);
        if (text.StartsWith("A user callback", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _userCallbackFailures);
        }
        else if (_failures.Count < 20)
        {
            _failures.Enqueue(text + (exception is null ? "" : " " + exception));
        }
    }
}

/// <summary>
/// Watches for exceptions that escape to the process while a race runs: an unhandled exception (on a thread-pool
/// thread it would end the process anyway) or a faulted task nobody observed, from the grid's code.
/// </summary>
internal sealed class EscapeMonitor : IDisposable
{
    private readonly ConcurrentQueue<string> _escaped = new();

    public EscapeMonitor()
    {
        AppDomain.CurrentDomain.UnhandledException += OnUnhandled;
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    /// <summary>Collects garbage so unobserved faulted tasks are reported, then adds what escaped to <paramref name="result"/>.</summary>
    public void Report(StressResult result)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        foreach (var escaped in _escaped)
        {
            result.Violation("violation: an exception escaped to the process: " + escaped);
        }
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.UnhandledException -= OnUnhandled;
        TaskScheduler.UnobservedTaskException -= OnUnobserved;
    }

    private void OnUnhandled(object? sender, UnhandledExceptionEventArgs e) => _escaped.Enqueue("unhandled: " + e.ExceptionObject);

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        // Only the grid's own tasks: other tests in the same process may leave faulted tasks of their own.
        var text = e.Exception.ToString();
        if (text.Contains("at Grid.Reactive.", StringComparison.Ordinal) && !text.Contains("Grid.Reactive.Tests", StringComparison.Ordinal))
        {
            _escaped.Enqueue("unobserved task: " + text);
        }
    }
}

/// <summary>Two or more managers on real threads, connected before a race starts.</summary>
internal sealed class StressGrid : IAsyncDisposable
{
    /// <summary>Turns a hang into a violation; never a timing assertion.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("grid-reactive-stress-shared-secret");

    private StressGrid(Manager[] nodes, InMemoryNetwork? network, StressLogger log)
    {
        Nodes = nodes;
        Network = network;
        Log = log;
    }

    public Manager[] Nodes { get; }

    /// <summary>The in-memory network, or null on WebSockets.</summary>
    public InMemoryNetwork? Network { get; }

    public StressLogger Log { get; }

    /// <summary>Managers not yet started: for races that start and dispose them themselves.</summary>
    public static (Manager[] Nodes, InMemoryNetwork? Network) Create(StressTransport transport, int count, Action<Manager>? setup,
        StressLogger log, InMemoryNetwork? network = null, string[]? addresses = null, Func<ManagerOptions, ManagerOptions>? configure = null)
    {
        network ??= transport == StressTransport.InMemory ? new InMemoryNetwork(DefaultScheduler.Instance) : null;
        addresses ??= transport == StressTransport.InMemory
            ? [.. Enumerable.Range(0, count).Select(i => "stress-" + i.ToString(CultureInfo.InvariantCulture))]
            : [.. Enumerable.Range(0, count).Select(_ => FreeLoopbackAddress())];
        var nodes = addresses.Select(address => new Manager((configure ?? (o => o))(new ManagerOptions
        {
            Address = address,
            Remotes = addresses,
            Transport = network ?? (GridTransport)new WebSocketTransport(),
            Authenticator = new SharedSecretAuthenticator(Secret),
            Logger = log,
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(50) },
        }))).ToArray();
        foreach (var node in nodes)
        {
            setup?.Invoke(node);
        }

        return (nodes, network);
    }

    public static async Task<StressGrid> StartAsync(StressTransport transport, Action<Manager>? setup, int count = 2,
        Func<ManagerOptions, ManagerOptions>? configure = null)
    {
        var log = new StressLogger();
        var (nodes, network) = Create(transport, count, setup, log, configure: configure);
        foreach (var node in nodes)
        {
            await node.StartAsync();
        }

        var grid = new StressGrid(nodes, network, log);
        await grid.ConnectedAsync();
        return grid;
    }

    public Connection From(int from, int to) => Nodes[from].Connection(Nodes[to].Address);

    /// <summary>Every connection of every node Connected.</summary>
    public Task ConnectedAsync() => Task.WhenAll(Nodes.SelectMany(n => n.Connections)
        .Select(c => c.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(Guard)));

    /// <summary>Calls in flight on every node, both ways.</summary>
    public int PendingCalls() => Nodes.Sum(n => n.PendingCalls());

    /// <summary>Adds the grid's internal failures (errors it logged other than user callbacks') to <paramref name="result"/>.</summary>
    public void ReportLog(StressResult result)
    {
        foreach (var failure in Log.InternalFailures)
        {
            result.Violation("violation: the grid logged an internal failure: " + failure);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>A free TCP port on 127.0.0.1, as <c>host:port</c>.</summary>
    public static string FreeLoopbackAddress()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>Waiting without sleeping a race into shape: conditions awaited on a dedicated thread, under a guard.</summary>
internal static class RaceKit
{
    /// <summary>
    /// Waits until <paramref name="condition"/> holds or the guard passes; false on the guard. Polls as
    /// <see cref="SpinWait.SpinUntil(Func{bool}, TimeSpan)"/> does (spins, then yields, then gives up its time slice):
    /// most conditions hold within microseconds, and the guard is a bound, never an expected duration.
    /// </summary>
    public static bool Until(Func<bool> condition, TimeSpan? guard = null) =>
        SpinWait.SpinUntil(condition, guard ?? StressGrid.Guard);

    /// <summary><see cref="Until"/> on a dedicated thread, so no thread-pool thread is held while the grid works.</summary>
    public static Task<bool> UntilAsync(Func<bool> condition, TimeSpan? guard = null) =>
        Task.Factory.StartNew(() => Until(condition, guard), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Runs <paramref name="body"/> on <paramref name="count"/> dedicated threads at once; completes when all have returned.</summary>
    public static Task Threads(int count, Action<int> body) => Task.WhenAll(Enumerable.Range(0, count).Select(i =>
        Task.Factory.StartNew(() => body(i), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));

    /// <summary>Checks every record into <paramref name="result"/>: its outcome counted, or its violation.</summary>
    public static void Tally(StressResult result, IEnumerable<CallRecord> records, Func<Exception, bool> allowedError)
    {
        foreach (var record in records)
        {
            var outcome = record.Check(allowedError);
            if (outcome.StartsWith("violation", StringComparison.Ordinal))
            {
                result.Violation(outcome);
            }
            else
            {
                result.Count(outcome);
            }
        }
    }

    /// <summary>Waits for every record's ending, under the guard; false when some never ended.</summary>
    public static async Task<bool> EndedAsync(IEnumerable<CallRecord> records)
    {
        try
        {
            await Task.WhenAll(records.Select(r => r.Ended)).WaitAsync(StressGrid.Guard);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Times <paramref name="race"/> into its result, and adds what escaped to the process meanwhile.</summary>
    public static async Task<StressResult> Timed(StressResult result, Func<Task> race)
    {
        using var escapes = new EscapeMonitor();
        var clock = Stopwatch.StartNew();
        await race();
        result.Elapsed = clock.Elapsed;
        escapes.Report(result);
        return result;
    }
}
