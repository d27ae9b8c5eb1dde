namespace Grid.Reactive.Connections;

/// <summary>Who learns about a session's life: the connect attempt that dialed it, or the manager that accepted it.</summary>
internal interface ISessionOwner
{
    /// <summary>
    /// The peer proved itself: the owner attaches the session to its connection (requests may flow), or refuses it
    /// (a live session from the same peer instance already serves the connection). Called once, on the session's loop,
    /// before any request frame is handled.
    /// </summary>
    /// <returns>Null when attached; otherwise why not.</returns>
    Refusal? OnOpened(Session session);

    /// <summary>The session ended (at any stage) and has failed its calls. Called once.</summary>
    void OnClosed(Session session, Exception reason);
}
