namespace Grid.Reactive.Transport;

/// <summary>A registered in-memory address. Disposing it unregisters the address; links already made stay up.</summary>
internal sealed class InMemoryListener : IAsyncDisposable
{
    private readonly InMemoryNetwork _network;

    public InMemoryListener(InMemoryNetwork network, string address, Action<ILink> onAccepted)
    {
        _network = network;
        Address = address;
        OnAccepted = onAccepted;
    }

    /// <summary>The address listened on.</summary>
    public string Address { get; }

    /// <summary>Receives the acceptor's endpoint of every successful dial.</summary>
    public Action<ILink> OnAccepted { get; }

    public ValueTask DisposeAsync()
    {
        _network.Unlisten(this);
        return ValueTask.CompletedTask;
    }
}
