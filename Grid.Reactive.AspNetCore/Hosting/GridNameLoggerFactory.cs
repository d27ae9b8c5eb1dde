using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Hosting;

/// <summary>
/// The application's logger factory for a named grid: the categories stay the grid's own (<c>Grid.Reactive.Manager</c>
/// and so on, so filters and event ids apply to every grid alike), and every line carries the scope <c>Grid</c> =
/// the grid's name, so that the lines of two grids in one application can be told apart.
/// </summary>
internal sealed class GridNameLoggerFactory(ILoggerFactory inner, string grid) : ILoggerFactory
{
    private readonly KeyValuePair<string, object?>[] _scope = [new("Grid", grid)];

    public ILogger CreateLogger(string categoryName) => new Logger(inner.CreateLogger(categoryName), _scope);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>The application's factory belongs to the application: nothing to dispose here.</summary>
    public void Dispose()
    {
    }

    private sealed class Logger(ILogger inner, IReadOnlyList<KeyValuePair<string, object?>> scope) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            using (inner.BeginScope(scope))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
