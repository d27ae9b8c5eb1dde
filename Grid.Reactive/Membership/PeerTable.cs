using System.Collections.Frozen;
using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using Grid.Reactive.Connections;
using Grid.Reactive.Diagnostics.Logging;

namespace Grid.Reactive.Membership;

/// <summary>
/// A manager's connections, one per known remote, as an immutable snapshot swapped whole when the membership changes
/// (under a lock) and read without one. Follows <see cref="ManagerOptions.Membership"/> when it is given: a host that
/// appears gets a connection at once; one that leaves is retired after <see cref="ManagerOptions.MembershipGracePeriod"/>
/// unless it comes back first.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The subject ends with the manager: Close completes it.")]
internal sealed class PeerTable
{
    // Membership changes are paced by the source; a blocked Peers observer holds at most this many snapshots.
    private const int PeersCapacity = 1024;

    private readonly GridContext _grid;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Leaving> _leaving = new(StringComparer.Ordinal);
    private readonly Subject<IReadOnlyList<Connection>> _changes = new();
    private Snapshot _snapshot;
    private IDisposable? _subscription;
    private bool _started;
    private bool _closed;

    public PeerTable(GridContext grid)
    {
        _grid = grid;
        _snapshot = Snapshot.Of(grid.Remotes.Select(r => new Connection(grid, r)));
    }

    /// <summary>The connections now, by remote address. Lock-free.</summary>
    public FrozenDictionary<string, Connection> ByAddress => Volatile.Read(ref _snapshot).ByAddress;

    /// <summary>The connections now, ordered by remote address. Lock-free.</summary>
    public IReadOnlyList<Connection> All => Volatile.Read(ref _snapshot).All;

    /// <summary>Starts the connections known now, then follows the membership source, if any.</summary>
    public void Start()
    {
        IReadOnlyList<Connection> current;
        lock (_gate)
        {
            if (_closed || _started)
            {
                return;
            }

            _started = true;
            current = _snapshot.All;
        }

        foreach (var connection in current)
        {
            connection.Start();
        }

        if (_grid.Options.Membership is not { } source)
        {
            return;
        }

        // The source may answer inside Subscribe (a BehaviorSubject, Observable.Return): applied like any other value.
        var subscription = source.Subscribe(Apply, OnSourceError, OnSourceCompleted);
        lock (_gate)
        {
            if (!_closed)
            {
                _subscription = subscription;
                return;
            }
        }

        subscription.Dispose();
    }

    /// <summary>Observes the live set: the current one at once (on the subscriber's thread), then each change, in order.</summary>
    public IDisposable Subscribe(IObserver<IReadOnlyList<Connection>> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var serial = _grid.User.Serial(observer, PeersCapacity);
        IDisposable subscription;
        lock (_gate)
        {
            serial.Hold(_snapshot.All);
            if (_closed)
            {
                serial.OnCompleted();
                subscription = Disposable.Empty;
            }
            else
            {
                subscription = _changes.Subscribe(serial);
            }
        }

        serial.DeliverQueuedHere();
        return subscription;
    }

    /// <summary>Stops following the membership: no connection is added or retired after this. Returns the connections to shut down.</summary>
    public IReadOnlyList<Connection> Close()
    {
        IDisposable? subscription;
        IReadOnlyList<Connection> current;
        lock (_gate)
        {
            if (_closed)
            {
                return _snapshot.All;
            }

            _closed = true;
            subscription = _subscription;
            _subscription = null;
            foreach (var leaving in _leaving.Values)
            {
                leaving.Timer.Dispose();
            }

            _leaving.Clear();
            current = _snapshot.All;
            _changes.OnCompleted();
        }

        subscription?.Dispose();
        return current;
    }

    /// <summary>One value of the source: the whole host set.</summary>
    private void Apply(IReadOnlyCollection<string> hosts)
    {
        if (hosts is null)
        {
            ManagerLog.MembershipNullSet(_grid.Logs.Manager, _grid.Address);
            return;
        }

        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            if (string.IsNullOrWhiteSpace(host))
            {
                ManagerLog.MembershipEmptyAddress(_grid.Logs.Manager, _grid.Address);
            }
            else if (!string.Equals(host, _grid.Address, StringComparison.Ordinal))
            {
                wanted.Add(host);
            }
        }

        List<Connection>? added = null;
        lock (_gate)
        {
            if (_closed || _grid.Stopping)
            {
                return; // a node that is stopping drains the peers it has
            }

            var current = _snapshot.ByAddress;
            foreach (var host in wanted)
            {
                if (!current.ContainsKey(host))
                {
                    (added ??= []).Add(new Connection(_grid, host));
                }
                else if (_leaving.Remove(host, out var back))
                {
                    back.Timer.Dispose();
                    ManagerLog.PeerBackWithinGrace(_grid.Logs.Manager, host, _grid.Address);
                }
            }

            foreach (var (host, connection) in current)
            {
                if (!wanted.Contains(host) && !_leaving.ContainsKey(host))
                {
                    var leaving = new Leaving(this, host, connection);
                    _leaving[host] = leaving;
                    ManagerLog.PeerLeaving(_grid.Logs.Manager, host, _grid.Address, _grid.Options.MembershipGracePeriod);
                    leaving.Timer.Disposable = _grid.Scheduler.Schedule(leaving, _grid.Options.MembershipGracePeriod, static (_, l) =>
                    {
                        l.Table.Retire(l);
                        return Disposable.Empty;
                    });
                }
            }

            if (added is null)
            {
                return;
            }

            Publish(Snapshot.Of(current.Values.Concat(added)));
            foreach (var connection in added)
            {
                ManagerLog.PeerJoined(_grid.Logs.Manager, connection.RemoteAddress, _grid.Address);
            }
        }

        foreach (var connection in added)
        {
            // After the lock: starting schedules the first dial (for the dialing side); a shutdown racing it wins.
            connection.Start();
        }
    }

    private void Retire(Leaving leaving)
    {
        lock (_gate)
        {
            if (_closed || !_leaving.TryGetValue(leaving.Host, out var current) || !ReferenceEquals(current, leaving))
            {
                return;
            }

            _leaving.Remove(leaving.Host);
            Publish(Snapshot.Of(_snapshot.All.Where(c => !ReferenceEquals(c, leaving.Connection))));
        }

        var why = string.Create(CultureInfo.InvariantCulture,
            $"'{leaving.Host}' left the membership of '{_grid.Address}' (absent for the MembershipGracePeriod of {_grid.Options.MembershipGracePeriod}); the connection was retired.");
        ManagerLog.PeerRetired(_grid.Logs.Manager, why);
        leaving.Connection.Shutdown(why);
    }

    /// <summary>Under the lock: swaps the snapshot, then the set the handshake checks, then tells the observers.</summary>
    private void Publish(Snapshot next)
    {
        Volatile.Write(ref _snapshot, next);
        _grid.Remotes = next.ByAddress.Keys.ToFrozenSet(StringComparer.Ordinal);
        _changes.OnNext(next.All);
    }

    private void OnSourceError(Exception error) =>
        ManagerLog.MembershipSourceFailed(_grid.Logs.Manager, error, _grid.Address, All.Count, error.Message);

    private void OnSourceCompleted() =>
        ManagerLog.MembershipSourceCompleted(_grid.Logs.Manager, _grid.Address, All.Count);

    /// <summary>One immutable state of the table.</summary>
    private sealed record Snapshot(FrozenDictionary<string, Connection> ByAddress, IReadOnlyList<Connection> All)
    {
        public static Snapshot Of(IEnumerable<Connection> connections)
        {
            Connection[] all = [.. connections.OrderBy(c => c.RemoteAddress, StringComparer.Ordinal)];
            return new Snapshot(all.ToFrozenDictionary(c => c.RemoteAddress, StringComparer.Ordinal), Array.AsReadOnly(all));
        }
    }

    /// <summary>A host out of the set, waiting out its grace period.</summary>
    private sealed class Leaving(PeerTable table, string host, Connection connection)
    {
        public PeerTable Table => table;

        public string Host => host;

        public Connection Connection => connection;

        public SerialDisposable Timer { get; } = new();
    }
}
