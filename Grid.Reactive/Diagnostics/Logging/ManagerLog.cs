using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>Log events of category <c>Grid.Reactive.Manager</c> (EventIds 1000-1999).</summary>
internal static partial class ManagerLog
{
    [LoggerMessage(EventId = 1001, EventName = "DrainTimedOut", Level = LogLevel.Warning,
        Message = "{Address} stopped with {Pending} calls and streams still in flight after the {Timeout} drain timeout")]
    public static partial void DrainTimedOut(ILogger logger, string address, int pending, TimeSpan timeout);

    [LoggerMessage(EventId = 1101, EventName = "MembershipNullSet", Level = LogLevel.Warning,
        Message = "The membership source of {Address} sent null instead of a host set; ignored")]
    public static partial void MembershipNullSet(ILogger logger, string address);

    [LoggerMessage(EventId = 1102, EventName = "MembershipEmptyAddress", Level = LogLevel.Warning,
        Message = "The membership source of {Address} listed an empty address; skipped")]
    public static partial void MembershipEmptyAddress(ILogger logger, string address);

    [LoggerMessage(EventId = 1103, EventName = "PeerBackWithinGrace", Level = LogLevel.Information,
        Message = "{Remote} is back in the membership of {Address} within the grace period; its connection stays")]
    public static partial void PeerBackWithinGrace(ILogger logger, string remote, string address);

    [LoggerMessage(EventId = 1104, EventName = "PeerLeaving", Level = LogLevel.Information,
        Message = "{Remote} left the membership of {Address}; its connection is retired in {Grace} unless it comes back")]
    public static partial void PeerLeaving(ILogger logger, string remote, string address, TimeSpan grace);

    [LoggerMessage(EventId = 1105, EventName = "PeerJoined", Level = LogLevel.Information,
        Message = "{Remote} joined the membership of {Address}")]
    public static partial void PeerJoined(ILogger logger, string remote, string address);

    [LoggerMessage(EventId = 1106, EventName = "PeerRetired", Level = LogLevel.Information, Message = "{Reason}")]
    public static partial void PeerRetired(ILogger logger, string reason);

    [LoggerMessage(EventId = 1107, EventName = "MembershipSourceFailed", Level = LogLevel.Error,
        Message = "The membership source of {Address} failed; keeping its last host set ({Count} remotes): {Reason}")]
    public static partial void MembershipSourceFailed(ILogger logger, Exception error, string address, int count, string reason);

    [LoggerMessage(EventId = 1108, EventName = "MembershipSourceCompleted", Level = LogLevel.Information,
        Message = "The membership source of {Address} completed; keeping its last host set ({Count} remotes)")]
    public static partial void MembershipSourceCompleted(ILogger logger, string address, int count);

    [LoggerMessage(EventId = 1109, EventName = "SecretChanged", Level = LogLevel.Information,
        Message = "The grid secret of {Grid} changed in configuration (previous secret {Previous}); new handshakes use it")]
    public static partial void SecretChanged(ILogger logger, string grid, string previous);

    [LoggerMessage(EventId = 1110, EventName = "SecretChangeRejected", Level = LogLevel.Warning,
        Message = "The grid secret of {Grid} changed in configuration but is not usable; handshakes keep the last valid secret")]
    public static partial void SecretChangeRejected(ILogger logger, Exception error, string grid);
}
