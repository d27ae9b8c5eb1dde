using System.Reactive.Concurrency;
using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>
/// An in-process network for tests and simulation: links are pairs of in-memory pipes whose messages are delivered
/// on <see cref="Scheduler"/> (under a <c>TestScheduler</c>, in virtual time and in a deterministic order), with hooks
/// to add latency, limit bandwidth, cut and heal links, partition the network, reset a node's links, hold or drop
/// messages, and make a node read slowly or not at all. <c>SimulatedGrid</c> (package Grid.Reactive.Testing) drives it for a whole grid.
/// </summary>
/// <remarks>
/// <para>
/// Addresses are the managers' address strings, compared ordinally. Every hook is thread-safe. The per-direction hooks
/// (<see cref="SetLatency"/>, <see cref="SetBandwidth"/>, <see cref="Hold"/>, <see cref="DropNext"/>,
/// <see cref="StopReading"/>) apply to every link, current or future, from one address to the other.
/// </para>
/// <para>
/// As on a WebSocket, each end refuses a message larger than its own manager's <c>MaxMessageSize</c> (the dialer's
/// and the acceptor's may differ): it delivers nothing of it and closes the link with a <see cref="ProtocolException"/>.
/// Bandwidth is unlimited by default (<see cref="DefaultBandwidth"/>); with one, a message occupies the wire for its
/// size over the bandwidth, and the sending link pulls the next message only once the previous one is on the wire.
/// </para>
/// <para>
/// A writer pass runs on the scheduler after the endpoint's owner asks for a flush; each message it writes is copied
/// and becomes due at the peer at the scheduler's time of the pass plus the direction's latency (plus its time on the
/// wire, with a bandwidth). Messages are delivered
/// to the peer's handler on the scheduler, one at a time and in the order sent, never before the handler is started.
/// The acceptor's endpoint is handed to the listener's callback inline, on the dialing thread, before
/// <c>DialAsync</c> returns. Closing an endpoint ends the pair: its own handler's <c>OnClosed</c> runs on the scheduler,
/// and the peer's runs after the messages already in flight to it, like a TCP FIN (with null for an orderly close, or a
/// <see cref="DisconnectedException"/> carrying the reason's message).
/// </para>
/// <para>
/// The scheduler must run scheduled work later, never inline inside <c>Schedule</c> (so not <c>ImmediateScheduler</c>).
/// </para>
/// </remarks>
public sealed partial class InMemoryNetwork : GridTransport
{
    private readonly Dictionary<string, InMemoryListener> _listeners = new(StringComparer.Ordinal);
    private readonly Dictionary<InMemoryRoute, TimeSpan> _latencies = [];
    private readonly Dictionary<InMemoryRoute, int> _drops = [];
    private readonly Dictionary<InMemoryRoute, Func<byte[], byte[]>> _corruptions = [];
    private readonly HashSet<InMemoryRoute> _held = [];
    private readonly HashSet<InMemoryRoute> _cuts = [];
    // Ordered by id (creation order), never by hash: cuts and releases walk it, and their scheduling order must not
    // depend on hash codes. Sorted rather than a list so that closing one of a large grid's links stays cheap.
    private readonly SortedDictionary<long, InMemoryEndpoint> _open = [];

    // The open endpoints between each pair of addresses (undirected), in creation order: a cut visits only its own.
    private readonly Dictionary<InMemoryRoute, List<InMemoryEndpoint>> _openByPair = [];
    private readonly HashSet<InMemoryEndpoint> _live = [];
    private TimeSpan _defaultLatency;
    private long _nextEndpointId;

    /// <summary>Creates a network whose deliveries run on <paramref name="scheduler"/>.</summary>
    /// <param name="scheduler">Runs every delivery; use the managers' scheduler.</param>
    public InMemoryNetwork(IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        Scheduler = scheduler;
    }

    /// <summary>The scheduler deliveries run on.</summary>
    public IScheduler Scheduler { get; }

    /// <summary>Latency of every direction without its own <see cref="SetLatency"/>. Default zero. Applies to messages sent afterwards.</summary>
    public TimeSpan DefaultLatency
    {
        get
        {
            lock (Gate)
            {
                return _defaultLatency;
            }
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            lock (Gate)
            {
                _defaultLatency = value;
            }
        }
    }

    /// <summary>Links that neither side has closed yet.</summary>
    public int LiveLinkCount
    {
        get
        {
            lock (Gate)
            {
                return _live.Count;
            }
        }
    }

    internal override ValueTask<IAsyncDisposable> ListenAsync(string localAddress, LinkSettings settings, Action<ILink> onAccepted, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(localAddress);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(settings.MaxMessageSize, nameof(settings));
        ArgumentNullException.ThrowIfNull(onAccepted);
        cancellationToken.ThrowIfCancellationRequested();
        var listener = new InMemoryListener(this, localAddress, settings, onAccepted);
        lock (Gate)
        {
            if (!_listeners.TryAdd(localAddress, listener))
            {
                throw new InvalidOperationException($"A node already listens at {localAddress}.");
            }
        }

        return ValueTask.FromResult<IAsyncDisposable>(listener);
    }

    internal override ValueTask<ILink> DialAsync(string localAddress, string remoteAddress, LinkSettings settings, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(localAddress);
        ArgumentException.ThrowIfNullOrEmpty(remoteAddress);
        ArgumentNullException.ThrowIfNull(settings);
        cancellationToken.ThrowIfCancellationRequested();
        InMemoryEndpoint dialer;
        InMemoryEndpoint acceptor;
        Action<ILink> onAccepted;
        lock (Gate)
        {
            if (_cuts.Contains(new InMemoryRoute(localAddress, remoteAddress).Undirected))
            {
                throw new IOException($"Cannot dial {remoteAddress} from {localAddress}: link {localAddress}<->{remoteAddress} is cut.");
            }

            if (!_listeners.TryGetValue(remoteAddress, out var listener))
            {
                throw new IOException($"Cannot dial {remoteAddress} from {localAddress}: no node listens at {remoteAddress}.");
            }

            // Each end enforces its own manager's limit on what it receives: the dialer's from the dial, the acceptor's from the listen.
            dialer = new InMemoryEndpoint(this, ++_nextEndpointId, localAddress, remoteAddress, isDialer: true, settings);
            acceptor = new InMemoryEndpoint(this, ++_nextEndpointId, remoteAddress, localAddress, isDialer: false, listener.Settings);
            dialer.Peer = acceptor;
            acceptor.Peer = dialer;
            _open.Add(dialer.Id, dialer);
            _open.Add(acceptor.Id, acceptor);
            var pair = new InMemoryRoute(localAddress, remoteAddress).Undirected;
            if (!_openByPair.TryGetValue(pair, out var links))
            {
                _openByPair[pair] = links = [];
            }

            links.Add(dialer);
            links.Add(acceptor);
            _live.Add(dialer);
            onAccepted = listener.OnAccepted;
        }

        try
        {
            onAccepted(acceptor);
        }
#pragma warning disable CA1031 // The acceptor's failure is the link's end, which the dialer then sees; the dial itself worked.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            acceptor.Close(ex);
        }

        return ValueTask.FromResult<ILink>(dialer);
    }

    /// <summary>Unregisters <paramref name="listener"/>'s address if it is still the one registered there.</summary>
    internal void Unlisten(InMemoryListener listener)
    {
        lock (Gate)
        {
            if (_listeners.TryGetValue(listener.Address, out var current) && current == listener)
            {
                _listeners.Remove(listener.Address);
            }
        }
    }

    /// <summary>An endpoint was closed: it leaves the open set, and its pair stops counting as live.</summary>
    internal void EndpointClosedLocked(InMemoryEndpoint endpoint)
    {
        _open.Remove(endpoint.Id);
        var pair = new InMemoryRoute(endpoint.Local, endpoint.Remote).Undirected;
        if (_openByPair.TryGetValue(pair, out var links) && links.Remove(endpoint) && links.Count == 0)
        {
            _openByPair.Remove(pair);
        }
        _live.Remove(endpoint.IsDialer ? endpoint : endpoint.Peer);
    }

    internal TimeSpan LatencyLocked(string from, string to) =>
        _latencies.TryGetValue(new InMemoryRoute(from, to), out var latency) ? latency : _defaultLatency;

    internal bool IsHeldLocked(string from, string to) => _held.Contains(new InMemoryRoute(from, to));

    /// <summary>True when the next message from <paramref name="from"/> to <paramref name="to"/> must be dropped (and counts it).</summary>
    internal bool TryDropLocked(string from, string to)
    {
        var route = new InMemoryRoute(from, to);
        if (!_drops.TryGetValue(route, out var remaining) || remaining == 0)
        {
            return false;
        }

        _drops[route] = remaining - 1;
        return true;
    }

    /// <summary>The message to deliver from <paramref name="from"/> to <paramref name="to"/>, corrupted if a corruption is pending.</summary>
    internal byte[] CorruptLocked(string from, string to, byte[] message) =>
        _corruptions.Remove(new InMemoryRoute(from, to), out var corrupt) ? corrupt((byte[])message.Clone()) : message;

    /// <summary>
    /// The open endpoints that match, in creation order. Never hash order: the order in which ends are closed or
    /// drained becomes the order of scheduled work, which must replay identically in every run of a simulation.
    /// </summary>
    private List<InMemoryEndpoint> OpenLocked(Func<InMemoryEndpoint, bool> match) =>
        [.. _open.Values.Where(match)];

    private void CutLocked(string a, string b)
    {
        var pair = Route(a, b).Undirected;
        _cuts.Add(pair);
        if (!_openByPair.TryGetValue(pair, out var links))
        {
            return;
        }

        foreach (var endpoint in links.ToArray())
        {
            endpoint.AbortLocked(new DisconnectedException($"link {a}<->{b} cut"));
        }
    }

    private static InMemoryRoute Route(string from, string to)
    {
        ArgumentException.ThrowIfNullOrEmpty(from);
        ArgumentException.ThrowIfNullOrEmpty(to);
        return new InMemoryRoute(from, to);
    }
}
