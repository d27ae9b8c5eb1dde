namespace Grid.Reactive.Benchmarks.Systems;

/// <summary>A system that answers single requests (echo) between nodes: grid, grpc, signalr, ws-raw or tcp-raw.</summary>
public interface IEchoSystem
{
    /// <summary>The system's name in results: grid, grpc, signalr, ws-raw or tcp-raw.</summary>
    string Name { get; }

    /// <summary>Most nodes a cluster of this system can have (tcp-raw: 2).</summary>
    int MaxNodes { get; }

    /// <summary>Most calls in flight at once (tcp-raw: 1, a plain ping-pong).</summary>
    int MaxConcurrency { get; }

    /// <summary>Starts <paramref name="nodes"/> nodes on loopback, connected, ready for calls from <paramref name="lanes"/> workers.</summary>
    Task<IEchoCluster> StartAsync(int nodes, int lanes, CancellationToken cancellationToken);
}

/// <summary>Running nodes of one system. Disposing stops them all.</summary>
public interface IEchoCluster : IAsyncDisposable
{
    /// <summary>The client node <paramref name="from"/> uses to call node <paramref name="to"/>.</summary>
    IEchoClient Client(int from, int to);

    /// <summary>True when <see cref="CutAsync"/> is supported: the system reconnects by itself after a cut.</summary>
    bool CanCut { get; }

    /// <summary>
    /// Cuts every link of node <paramref name="node"/> by shutting it down, then starts it again at the same address
    /// with the same handlers. Clients of the other nodes are expected to recover by themselves; ask
    /// <see cref="Client"/> again for clients of the cut node itself.
    /// </summary>
    Task CutAsync(int node, CancellationToken cancellationToken);

    /// <summary>
    /// The transport messages (WebSocket sends) the cluster's nodes have made so far, both ways, and the calls' frames
    /// (requests and answers) they carried; null for a system that does not count them.
    /// </summary>
    SendCount? Sends => null;
}

/// <summary>Transport messages sent and the frames (requests, answers, pings) they carried, counted since a cluster started.</summary>
/// <param name="Messages">Messages handed to the transport, one send each.</param>
/// <param name="Frames">Frames those messages carried: several when calls were batched into one message.</param>
public readonly record struct SendCount(long Messages, long Frames)
{
    /// <summary>What was sent between <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static SendCount Between(SendCount before, SendCount after) => new(after.Messages - before.Messages, after.Frames - before.Frames);
}

/// <summary>Sends echo requests from one node to another.</summary>
public interface IEchoClient
{
    /// <summary>
    /// Sends <paramref name="payload"/> and returns the answer, valid until the next call on the same
    /// <paramref name="lane"/>. A lane makes one call at a time; lanes run concurrently.
    /// </summary>
    ValueTask<ReadOnlyMemory<byte>> EchoAsync(int lane, byte[] payload);
}
