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

    [LoggerMessage(EventId = 4003, EventName = "CertificateReloaded", Level = LogLevel.Information,
        Message = "Certificate file {Path} changed: now {Subject} ({Thumbprint}), valid until {NotAfter:u}")]
    public static partial void CertificateReloaded(ILogger logger, string path, string subject, string thumbprint, DateTime notAfter);

    [LoggerMessage(EventId = 4004, EventName = "CertificateReloadFailed", Level = LogLevel.Warning,
        Message = "Certificate file {Path} changed but cannot be loaded; still using {Thumbprint}")]
    public static partial void CertificateReloadFailed(ILogger logger, Exception error, string path, string thumbprint);
}
