using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Tests.Support;

/// <summary>Keeps every log line, so tests can check that a refusal was logged with its reason.</summary>
public sealed class CapturingLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _lines = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Seen)> _waiters = [];

    public IReadOnlyList<(LogLevel Level, string Text)> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var text = formatter(state, exception);
        _lines.Enqueue((logLevel, text));
        lock (_waiters)
        {
            foreach (var waiter in _waiters.Where(w => w.Match(text)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Seen.TrySetResult();
            }
        }
    }

    /// <summary>Completes when a line containing <paramref name="fragment"/> is logged (at once if one was).</summary>
    public Task WaitForAsync(string fragment)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _waiters.Add((t => t.Contains(fragment, StringComparison.Ordinal), seen));
        }

        if (_lines.Any(l => l.Text.Contains(fragment, StringComparison.Ordinal)))
        {
            seen.TrySetResult();
        }

        return seen.Task;
    }
}
