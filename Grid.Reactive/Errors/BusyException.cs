namespace Grid.Reactive;

/// <summary>
/// The connection refused a new call because one of its bounds is reached: the bytes queued to the peer
/// (<see cref="ManagerOptions.MaxQueuedBytes"/>) or the calls in flight (<see cref="ManagerOptions.MaxCallsInFlight"/>,
/// the peer's as told in the handshake). Nothing was sent; calls already in flight go on. Retrying later, or on
/// another node, is safe. The message says which bound and its value.
/// </summary>
public sealed class BusyException : GridException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which bound was reached.</param>
    public BusyException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">Which bound was reached.</param>
    /// <param name="innerException">The cause.</param>
    public BusyException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public BusyException() { }
}
