using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>Log events of category <c>Grid.Reactive.Manager</c> (EventIds 1000-1999).</summary>
internal static partial class ManagerLog
{
    [LoggerMessage(EventId = 1001, EventName = "DrainTimedOut", Level = LogLevel.Warning,
        Message = "{Address} stopped with {Pending} calls and streams still in flight after the {Timeout} drain timeout")]
    public static partial void DrainTimedOut(ILogger logger, string address, int pending, TimeSpan timeout);
}
