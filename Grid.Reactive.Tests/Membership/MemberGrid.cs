using System.Reactive.Subjects;
using Grid.Reactive.Tests.Support;

namespace Grid.Reactive.Tests.Membership;

/// <summary>
/// A <see cref="VirtualGrid"/> whose nodes take their host set from <see cref="ManagerOptions.Membership"/>: each node
/// has its own view (a subject), so a test can tell one node about a change before another, as a real source would.
/// </summary>
public sealed class MemberGrid : IAsyncDisposable
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, BehaviorSubject<IReadOnlyCollection<string>>> _views = new(StringComparer.Ordinal);

    public MemberGrid(params string[] names) => Grid = new VirtualGrid(names);

    public VirtualGrid Grid { get; }

    public Manager this[string name] => Grid[name];

    /// <summary>Starts a node whose view of the membership is <paramref name="hosts"/>.</summary>
    public Manager Start(string name, IReadOnlyCollection<string> hosts, Func<ManagerOptions, ManagerOptions>? configure = null)
    {
        var view = new BehaviorSubject<IReadOnlyCollection<string>>(hosts);
        _views[name] = view;
        var options = Grid.OptionsFor(name) with { Remotes = [], Membership = view, MembershipGracePeriod = Grace };
        return Grid.Start(name, configure is null ? options : configure(options));
    }

    /// <summary>Starts every node with the same view: all of them.</summary>
    public MemberGrid StartAll(params string[] names)
    {
        foreach (var name in names)
        {
            Start(name, names);
        }

        return this;
    }

    /// <summary>Tells one node its new view.</summary>
    public void Tell(string name, params string[] hosts) => _views[name].OnNext(hosts);

    public void TellAll(params string[] hosts)
    {
        foreach (var view in _views.Values)
        {
            view.OnNext(hosts);
        }
    }

    public void RunMs(double ms) => Grid.RunMs(ms);

    public ValueTask DisposeAsync() => Grid.DisposeAsync();
}
