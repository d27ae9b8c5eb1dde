using System.Reactive.Concurrency;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Benchmarks.Scale;

/// <summary>
/// The in-memory network with every dial counted (which node dialed, at which virtual instant). It hands the
/// network's own links through, so it adds nothing per connection to what is measured.
/// </summary>
internal sealed class DialCounter(InMemoryNetwork network, IScheduler scheduler) : GridTransport
{
    private readonly List<(long Ticks, int Node)> _dials = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private bool _recording;

    public InMemoryNetwork Network => network;

    /// <summary>The dials since <see cref="Record"/>, in order.</summary>
    public IReadOnlyList<(long Ticks, int Node)> Dials => _dials;

    /// <summary>Names the nodes, in order; a dial is counted by its node's position.</summary>
    public void Name(IReadOnlyList<string> nodes)
    {
        for (var i = 0; i < nodes.Count; i++)
        {
            _index[nodes[i]] = i;
        }
    }

    /// <summary>Forgets the dials so far and counts the ones from now on.</summary>
    public void Record()
    {
        _dials.Clear();
        _recording = true;
    }

    internal override ValueTask<IAsyncDisposable> ListenAsync(string localAddress, LinkSettings settings, Action<ILink> onAccepted, CancellationToken cancellationToken) =>
        network.ListenAsync(localAddress, settings, onAccepted, cancellationToken);

    internal override ValueTask<ILink> DialAsync(string localAddress, string remoteAddress, LinkSettings settings, CancellationToken cancellationToken)
    {
        if (_recording)
        {
            _dials.Add((scheduler.Now.UtcTicks, _index[localAddress]));
        }

        return network.DialAsync(localAddress, remoteAddress, settings, cancellationToken);
    }
}
