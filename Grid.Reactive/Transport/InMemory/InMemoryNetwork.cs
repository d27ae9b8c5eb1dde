using System.Reactive.Concurrency;
using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>
/// An in-process network for tests and simulation: links are pairs of in-memory pipes whose messages are delivered
/// on <see cref="Scheduler"/> (under a <c>TestScheduler</c>, in virtual time and in a deterministic order), with hooks
/// to add latency, cut and heal links, and hold or drop messages.
/// </summary>
public sealed class InMemoryNetwork : GridTransport
{
    /// <summary>Creates a network whose deliveries run on <paramref name="scheduler"/>.</summary>
    /// <param name="scheduler">Runs every delivery; use the managers' scheduler.</param>
    public InMemoryNetwork(IScheduler scheduler) => throw new NotImplementedException();

    /// <summary>The scheduler deliveries run on.</summary>
    public IScheduler Scheduler => throw new NotImplementedException();

    internal override ValueTask<IAsyncDisposable> ListenAsync(string localAddress, LinkSettings settings, Action<ILink> onAccepted, CancellationToken cancellationToken) => throw new NotImplementedException();

    internal override ValueTask<ILink> DialAsync(string localAddress, string remoteAddress, LinkSettings settings, CancellationToken cancellationToken) => throw new NotImplementedException();
}
