using Grid.Reactive.Diagnostics.Logging;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Connections;

/// <summary>
/// The one way protocol and timer code reaches user code (observers, callbacks, cancellation registrations): a hop
/// through the grid's <see cref="Dispatcher"/>, with every call guarded, so a user callback that throws or blocks
/// affects only itself. A throw is logged and swallowed; it never ends a connection, a timer or the process.
/// </summary>
internal sealed class UserCode
{
    private readonly Dispatcher _dispatcher;
    private readonly ILogger _logger;

    public UserCode(Dispatcher dispatcher, ILogger logger)
    {
        _dispatcher = dispatcher;
        _logger = logger;
    }

    public Dispatcher Dispatcher => _dispatcher;

    /// <summary>Runs <paramref name="callback"/> off the caller's context, guarded.</summary>
    public void Post<TState>(Action<TState> callback, TState state) =>
        _dispatcher.Dispatch(static s => s.Self.Invoke(s.Callback, s.State), (Self: this, Callback: callback, State: state));

    /// <summary>Runs <paramref name="callback"/> here, guarded: for code already off protocol and timer code.</summary>
    /// <returns>False when the callback threw (the error is logged).</returns>
    public bool Invoke<TState>(Action<TState> callback, TState state)
    {
        try
        {
            callback(state);
            return true;
        }
#pragma warning disable CA1031 // User code's failure is the user's bug: it is logged, and touches nothing else.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Failed(ex);
            return false;
        }
    }

    /// <summary>Logs a user callback's failure.</summary>
    public void Failed(Exception error) =>
        UserCodeLog.UserCallbackThrew(_logger, error, error.Message);

    /// <summary>Logs that a slow observer's queue was full and lost its oldest notifications.</summary>
    public void Dropped(long dropped, int capacity) =>
        UserCodeLog.SlowObserverDropped(_logger, capacity, dropped);

    /// <summary>Gives <paramref name="observer"/> its own ordered, guarded delivery off the caller's context.</summary>
    /// <param name="observer">The user's observer.</param>
    /// <param name="capacity">Most notifications held for a slow observer; beyond it the oldest are dropped (logged).</param>
    public SerialObserver<T> Serial<T>(IObserver<T> observer, int capacity) => new(this, observer, capacity);
}
