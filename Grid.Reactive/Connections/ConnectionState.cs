namespace Grid.Reactive;

/// <summary>The state of a <see cref="Connection"/>, as it replays to subscribers.</summary>
public enum ConnectionState
{
    /// <summary>Never connected yet.</summary>
    NotConnected,

    /// <summary>Dialing or handshaking.</summary>
    Connecting,

    /// <summary>Handshake done: requests flow both ways.</summary>
    Connected,

    /// <summary>The link was lost; the dialing side is waiting to redial, the accepting side for the peer to come back.</summary>
    Disconnected,

    /// <summary>
    /// The manager was disposed, or the remote left the membership and its connection was retired. Terminal: the
    /// state sequence completes after it.
    /// </summary>
    ShutDown,
}
