using Grid.Reactive.Benchmarks.Harness;

namespace Grid.Reactive.Benchmarks.Systems;

/// <summary>A system that streams messages between two nodes: server to client, and two-way echo.</summary>
public interface IStreamSystem
{
    /// <summary>The system's name in results.</summary>
    string Name { get; }

    /// <summary>Why this system cannot stream yet (reported as "n/a (...)"), or null when it can.</summary>
    string? NotAvailable { get; }

    /// <summary>Starts a server and a client on loopback.</summary>
    Task<IStreamTarget> StartAsync(CancellationToken cancellationToken);
}

/// <summary>A running stream server and its client. Disposing stops both.</summary>
public interface IStreamTarget : IAsyncDisposable
{
    /// <summary>Messages the server has produced (written to its side of the stream) so far, over every stream.</summary>
    long Produced { get; }

    /// <summary>
    /// Opens a server-to-client stream of <paramref name="size"/>-byte messages with a window of
    /// <paramref name="window"/> messages, feeds each message to <paramref name="sink"/> and returns when
    /// <paramref name="stop"/> is cancelled (the stream is then cancelled) or the stream fails (then throws).
    /// </summary>
    Task ReceiveAsync(int size, int window, StreamSink sink, CancellationToken stop);

    /// <summary>
    /// Opens a two-way stream: the client sends <paramref name="size"/>-byte messages, at most <paramref name="window"/>
    /// unanswered, the server echoes each; every echo goes to <paramref name="sink"/>. Returns when
    /// <paramref name="stop"/> is cancelled.
    /// </summary>
    Task BidiEchoAsync(int size, int window, StreamSink sink, CancellationToken stop);
}
