using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>Log events of category <c>Grid.Reactive.Transport</c> (EventIds 4000-4999).</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 4001, EventName = "TooManyPendingHandshakes", Level = LogLevel.Warning,
        Message = "{Address} has {Pending} links waiting for their handshake (MaxPendingHandshakes); closing new ones at once ({Refused} so far)")]
    public static partial void TooManyPendingHandshakes(ILogger logger, string address, int pending, long refused);

    [LoggerMessage(EventId = 4002, EventName = "ClosedBeforeHandshake", Level = LogLevel.Debug,
        Message = "Accepted link closed before its handshake: {Reason}")]
    public static partial void ClosedBeforeHandshake(ILogger logger, string reason);
}
