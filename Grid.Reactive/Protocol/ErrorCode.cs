namespace Grid.Reactive.Protocol;

/// <summary>
/// Why a <see cref="Op.Response"/> with <see cref="FrameFlags.Error"/> failed, carried in its sequence number (which
/// responses do not otherwise use), so the caller raises the right exception. A peer that predates codes sends 0.
/// </summary>
internal enum ErrorCode : uint
{
    /// <summary>The handler threw or returned an error: <see cref="RemoteException"/>.</summary>
    Remote = 0,

    /// <summary>The answer was larger than the caller accepts: <see cref="MessageTooLargeException"/>.</summary>
    TooLarge = 1,

    /// <summary>The serving node was over a bound: <see cref="BusyException"/>.</summary>
    Busy = 2,

    /// <summary>The serving node is shutting down and takes no new calls: <see cref="DisconnectedException"/>.</summary>
    GoingAway = 3,
}
