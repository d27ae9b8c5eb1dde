using System.Reactive.Disposables;
using System.Reactive.Subjects;

namespace Grid.Reactive.Testing;

/// <summary>
/// The grid's membership when <see cref="SimulationOptions.Members"/> is set: one view of the host set per node, fed to
/// the node's <see cref="ManagerOptions.Membership"/> (and to every later incarnation of it), changed by the test.
/// </summary>
public sealed partial class SimulatedGrid
{
    private readonly Dictionary<string, BehaviorSubject<IReadOnlyCollection<string>>> _views = new(StringComparer.Ordinal);

    /// <summary>
    /// Changes the host set every node sees, at once: a node that joins is dialled or awaited by the side the naming
    /// rule picks, a node that leaves is retired after each node's <see cref="ManagerOptions.MembershipGracePeriod"/>
    /// (its calls failing with <see cref="DisconnectedException"/>). A node that is down sees the new set when it starts.
    /// </summary>
    /// <param name="hosts">The new host set: some or all of <see cref="Nodes"/>.</param>
    /// <exception cref="InvalidOperationException">The grid was built without <see cref="SimulationOptions.Members"/> (its remotes are fixed).</exception>
    /// <exception cref="ArgumentException">A host is not one of <see cref="Nodes"/>.</exception>
    public void SetMembers(IReadOnlyCollection<string> hosts)
    {
        var set = CheckMembers(hosts);
        foreach (var node in Nodes)
        {
            Tell(node, set);
        }
    }

    /// <summary>
    /// Changes the host set one node sees, the others keeping theirs: how a real source reaches nodes at different
    /// times (a node told of a newcomer before the newcomer's own view includes it, or after it has dialled).
    /// </summary>
    /// <param name="node">The node whose view changes.</param>
    /// <param name="hosts">Its new host set: some or all of <see cref="Nodes"/>.</param>
    /// <exception cref="InvalidOperationException">The grid was built without <see cref="SimulationOptions.Members"/> (its remotes are fixed).</exception>
    /// <exception cref="ArgumentException"><paramref name="node"/> or a host is not one of <see cref="Nodes"/>.</exception>
    public void SetMembers(string node, IReadOnlyCollection<string> hosts)
    {
        Node(node);
        Tell(node, CheckMembers(hosts));
    }

    /// <summary>The host set <paramref name="node"/> sees now (or will see when it starts).</summary>
    /// <param name="node">A node's address.</param>
    /// <returns>The set, ordered as given; with fixed remotes, all of <see cref="Nodes"/>.</returns>
    public IReadOnlyCollection<string> Members(string node)
    {
        Node(node);
        return _views.TryGetValue(node, out var view) ? view.Value : Nodes;
    }

    private void CreateViews(IReadOnlyCollection<string> members)
    {
        var set = CheckMembers(members);
        foreach (var node in Nodes)
        {
            _views[node] = new BehaviorSubject<IReadOnlyCollection<string>>(set);
        }
    }

    private string[] CheckMembers(IReadOnlyCollection<string> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        if (_options.Members is null)
        {
            throw new InvalidOperationException("This grid's remotes are fixed: set SimulationOptions.Members to give its nodes a membership that changes.");
        }

        var unknown = hosts.Where(h => h is null || !_nodes.ContainsKey(h)).ToArray();
        return unknown.Length == 0
            ? [.. hosts.Distinct(StringComparer.Ordinal)]
            : throw new ArgumentException($"Members must be nodes of this grid; {string.Join(", ", unknown.Select(h => $"'{h}'"))} is not. Nodes: {string.Join(", ", Nodes)}.", nameof(hosts));
    }

    private void Tell(string node, string[] hosts)
    {
        Record(SimulationEventKind.Membership, node, null, "members " + string.Join(",", hosts));
        _views[node].OnNext(hosts);
    }

    /// <summary>The node's options with its membership view in place of the fixed remotes, when the grid has one.</summary>
    private ManagerOptions WithMembership(ManagerOptions options) =>
        _views.TryGetValue(options.Address, out var view) ? options with { Remotes = [], Membership = view } : options;

    /// <summary>Traces the state of each connection the manager has now and of each one it gains as members join.</summary>
    private CompositeDisposable ObservePeers(Manager manager)
    {
        var tracing = new CompositeDisposable();
        var seen = new HashSet<Connection>(ReferenceEqualityComparer.Instance);
        tracing.Add(manager.Peers.Subscribe(peers =>
        {
            foreach (var connection in peers.Where(seen.Add))
            {
                TraceConnection(manager, connection, tracing);
            }
        }));
        return tracing;
    }

    private void CompleteViews()
    {
        foreach (var view in _views.Values)
        {
            view.OnCompleted();
            view.Dispose();
        }
    }
}
