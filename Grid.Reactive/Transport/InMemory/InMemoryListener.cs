namespace Grid.Reactive.Transport;

/// <summary>A registered in-memory address. Disposing it unregisters the address; links already made stay up.</summary>
internal sealed class InMemoryListener : IAsyncDisposable
{
    private readonly InMemoryNetwork _network;

    public InMemoryListener(InMemoryNetwork network, string address, LinkSettings settings, Action<ILink> onAccepted)
    {
        _network = network;
        Address = address;
        Settings = settings;
        OnAccepted = onAccepted;
    }

    /// <summary>The address listened on.</summary>
    public string Address { get; }

    /// <summary>The listening manager's link settings, which every accepted endpoint enforces on what it receives.</summary>
    public LinkSettings Settings { get; }

    /// <summary>Receives the acceptor's endpoint of every successful dial.</summary>
    public Action<ILink> OnAccepted { get; }

    public ValueTask DisposeAsync()
    {
        _network.Unlisten(this);
        return ValueTask.CompletedTask;
    }
}
