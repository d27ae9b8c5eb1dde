using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>Log events of category <c>Grid.Reactive.Session</c> (EventIds 3000-3999).</summary>
internal static partial class SessionLog
{
    [LoggerMessage(EventId = 3001, EventName = "ProtocolError", Level = LogLevel.Warning,
        Message = "Protocol error from {Remote} on {Link}: {Reason}")]
    public static partial void ProtocolError(ILogger logger, string remote, string link, string reason);

    [LoggerMessage(EventId = 3002, EventName = "MessageHandlingFailed", Level = LogLevel.Error,
        Message = "Failure handling a message from {Remote} on {Link}")]
    public static partial void MessageHandlingFailed(ILogger logger, Exception error, string remote, string link);

    /// <remarks>Debug: the dialing connection tells it once at Warning (<see cref="ConnectionLog.PeerUnreachable"/>).</remarks>
    [LoggerMessage(EventId = 3003, EventName = "HandshakeRefusedByPeer", Level = LogLevel.Debug,
        Message = "{Reason}")]
    public static partial void HandshakeRefusedByPeer(ILogger logger, string reason);

    [LoggerMessage(EventId = 3004, EventName = "HandshakeRefused", Level = LogLevel.Warning,
        Message = "Refused handshake from {Remote} on {Link} ({Code}): {Reason}; the same refusal again is logged at Debug")]
    public static partial void HandshakeRefused(ILogger logger, string remote, string link, string code, string reason);

    [LoggerMessage(EventId = 3005, EventName = "HandshakeRefusedAgain", Level = LogLevel.Debug,
        Message = "Refused handshake from {Remote} on {Link} ({Code}) again: {Reason}")]
    public static partial void HandshakeRefusedAgain(ILogger logger, string remote, string link, string code, string reason);

    [LoggerMessage(EventId = 3006, EventName = "AnswerTooLarge", Level = LogLevel.Warning,
        Message = "Answer to {Remote} not sent: {Reason}")]
    public static partial void AnswerTooLarge(ILogger logger, string? remote, string reason);

    [LoggerMessage(EventId = 3007, EventName = "OutputOverBudget", Level = LogLevel.Information,
        Message = "{Bytes} bytes queued to {Remote}, over MaxQueuedBytes {Budget}: holding back new calls' handlers until it drains")]
    public static partial void OutputOverBudget(ILogger logger, long bytes, string? remote, long budget);

    [LoggerMessage(EventId = 3008, EventName = "StreamPingsStopped", Level = LogLevel.Information,
        Message = "Stream {Stream} of '{Remote}' stopped pinging for {Silence}; cancelling it")]
    public static partial void StreamPingsStopped(ILogger logger, ulong stream, string? remote, TimeSpan silence);
}
