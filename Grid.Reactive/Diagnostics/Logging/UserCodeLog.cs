using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>Log events of category <c>Grid.Reactive.UserCode</c> (EventIds 5000-5999).</summary>
internal static partial class UserCodeLog
{
    [LoggerMessage(EventId = 5001, EventName = "UserCallbackThrew", Level = LogLevel.Error,
        Message = "A user callback (observer, handler callback or cancellation registration) threw; the grid ignored it: {Reason}")]
    public static partial void UserCallbackThrew(ILogger logger, Exception error, string reason);

    [LoggerMessage(EventId = 5002, EventName = "SlowObserverDropped", Level = LogLevel.Warning,
        Message = "A slow observer held {Capacity} undelivered notifications; {Dropped} of the oldest were dropped so far")]
    public static partial void SlowObserverDropped(ILogger logger, int capacity, long dropped);
}
