using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>Log events of category <c>Grid.Reactive.Connection</c> (EventIds 2000-2999).</summary>
/// <remarks>
/// A peer that cannot be reached is told once, at Warning, when it becomes unreachable (or the reason changes); each
/// further failed dial is Debug, and its return is Information. A healthy grid logs one Information line per link up
/// and down.
/// </remarks>
internal static partial class ConnectionLog
{
    [LoggerMessage(EventId = 2001, EventName = "Connected", Level = LogLevel.Information,
        Message = "Connected {Local} <-> {Remote} ({Link})")]
    public static partial void Connected(ILogger logger, string local, string? remote, string link);

    [LoggerMessage(EventId = 2002, EventName = "Disconnected", Level = LogLevel.Information,
        Message = "Disconnected {Local} <-> {Remote}: {Reason}")]
    public static partial void Disconnected(ILogger logger, string local, string remote, string reason);

    [LoggerMessage(EventId = 2003, EventName = "PeerUnreachable", Level = LogLevel.Warning,
        Message = "Cannot connect {Local} -> {Remote}: {Reason} Redialling with backoff (next in {Delay}); further failures for the same reason are logged at Debug")]
    public static partial void PeerUnreachable(ILogger logger, string local, string remote, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 2004, EventName = "DialFailed", Level = LogLevel.Debug,
        Message = "Connecting {Local} -> {Remote} failed ({Failures} in a row), next dial in {Delay}: {Reason}")]
    public static partial void DialFailed(ILogger logger, string local, string remote, int failures, TimeSpan delay, string reason);

    [LoggerMessage(EventId = 2005, EventName = "PeerReachable", Level = LogLevel.Information,
        Message = "{Remote} is reachable again from {Local} after {Failures} failed dials")]
    public static partial void PeerReachable(ILogger logger, string local, string remote, int failures);

    [LoggerMessage(EventId = 2006, EventName = "PeerGoingAway", Level = LogLevel.Information,
        Message = "{Remote} is shutting down: no new calls to it from {Local}")]
    public static partial void PeerGoingAway(ILogger logger, string? remote, string local);
}
