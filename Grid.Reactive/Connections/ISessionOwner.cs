namespace Grid.Reactive.Connections;

/// <summary>Who learns about a session's life: the connect attempt that dialed it, or the manager that accepted it.</summary>
internal interface ISessionOwner
{
    /// <summary>The handshake succeeded; requests may flow. Called once, before any request frame is handled.</summary>
    void OnOpened(Session session);

    /// <summary>The session ended (at any stage) and has failed its calls. Called once.</summary>
    void OnClosed(Session session, Exception reason);
}
