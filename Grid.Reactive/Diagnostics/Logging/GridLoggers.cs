using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>The loggers of one manager, one per component (category), made once from its logger factory.</summary>
internal sealed class GridLoggers
{
    public GridLoggers(ILoggerFactory? factory, ILogger? single)
    {
        // The older single-logger option still works: every category then goes to that one logger.
        factory ??= single is null ? NullLoggerFactory.Instance : new SingleLoggerFactory(single);
        Manager = factory.CreateLogger(GridDiagnostics.LogCategoryPrefix + ".Manager");
        Connection = factory.CreateLogger(GridDiagnostics.LogCategoryPrefix + ".Connection");
        Session = factory.CreateLogger(GridDiagnostics.LogCategoryPrefix + ".Session");
        Transport = factory.CreateLogger(GridDiagnostics.LogCategoryPrefix + ".Transport");
        UserCode = factory.CreateLogger(GridDiagnostics.LogCategoryPrefix + ".UserCode");
    }

    /// <summary>Grid.Reactive.Manager: start, stop and drain of the node.</summary>
    public ILogger Manager { get; }

    /// <summary>Grid.Reactive.Connection: a peer's connection coming up, going down, becoming unreachable and back.</summary>
    public ILogger Connection { get; }

    /// <summary>Grid.Reactive.Session: handshakes, protocol errors and the output budget of one link.</summary>
    public ILogger Session { get; }

    /// <summary>Grid.Reactive.Transport: accepted links before their handshake.</summary>
    public ILogger Transport { get; }

    /// <summary>Grid.Reactive.UserCode: user callbacks that threw, observers too slow to keep up.</summary>
    public ILogger UserCode { get; }

    /// <summary>Hands the one logger given through <see cref="ManagerOptions.Logger"/> out for every category.</summary>
    private sealed class SingleLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => logger;

        public void Dispose()
        {
        }
    }
}
