using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>
/// How managers reach each other: <c>WebSocketTransport</c> (package Grid.Reactive.AspNetCore) for real deployments,
/// <see cref="InMemoryNetwork"/> for tests and simulation. A manager is given one in <see cref="ManagerOptions.Transport"/>.
/// </summary>
public abstract class GridTransport
{
    private protected GridTransport()
    {
    }

    /// <summary>
    /// How long stopping waits for links closing in order to write their last messages (wall-clock: socket I/O), both
    /// in <see cref="Manager"/>'s stop and in a transport's listener.
    /// </summary>
    internal static readonly TimeSpan OrderlyCloseBound = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Starts accepting links for <paramref name="localAddress"/>; each accepted link is handed to
    /// <paramref name="onAccepted"/> before any of its messages is delivered. Disposing the result stops accepting
    /// (links already accepted stay up; their owners close them).
    /// </summary>
    internal abstract ValueTask<IAsyncDisposable> ListenAsync(string localAddress, LinkSettings settings,
        Action<ILink> onAccepted, CancellationToken cancellationToken);

    /// <summary>Opens a link from <paramref name="localAddress"/> to <paramref name="remoteAddress"/>, or throws why not.</summary>
    internal abstract ValueTask<ILink> DialAsync(string localAddress, string remoteAddress, LinkSettings settings,
        CancellationToken cancellationToken);
}
