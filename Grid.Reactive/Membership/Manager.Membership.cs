namespace Grid.Reactive;

/// <summary>The manager's live set of peers, and the checks of the membership options.</summary>
public sealed partial class Manager
{
    /// <summary>
    /// The live set of connections: the current set at once (on the subscriber's thread), then the whole set again
    /// after each change, in order, each ordered by remote address. A remote that joins the membership appears (its
    /// new <see cref="Grid.Reactive.Connection"/>, not yet connected); one retired after
    /// <see cref="ManagerOptions.MembershipGracePeriod"/> disappears (its connection is then
    /// <see cref="ConnectionState.ShutDown"/>). Completes when the manager is disposed.
    /// </summary>
    /// <remarks>
    /// Notifications are delivered off the membership source and the grid's timers, each observer in its own guarded
    /// queue. Each <see cref="Grid.Reactive.Connection"/> is itself an observable of its state that completes after
    /// <see cref="ConnectionState.ShutDown"/>, so <c>Peers.SelectMany(set =&gt; set).Distinct()</c> yields each peer
    /// once as it joins, and a peer's own sequence tells when it leaves.
    /// </remarks>
    public IObservable<IReadOnlyCollection<Connection>> Peers => System.Reactive.Linq.Observable.Create<IReadOnlyCollection<Connection>>(_peers.Subscribe);

    private static void ValidateMembership(ManagerOptions options)
    {
        if (options.Membership is not null && options.Remotes.Count > 0)
        {
            throw new ArgumentException(
                "ManagerOptions.Remotes and ManagerOptions.Membership cannot both be given: Remotes is a fixed host set, Membership the whole " +
                "host set as it changes. To keep fixed hosts beside a changing source, add them to what the source emits " +
                "(for example source.Select(hosts => hosts.Concat(fixedHosts).ToArray())) and leave Remotes empty.", nameof(options));
        }

        if (options.MembershipGracePeriod < TimeSpan.Zero)
        {
            throw new ArgumentException("ManagerOptions.MembershipGracePeriod must not be negative (zero retires a host as soon as it leaves).", nameof(options));
        }
    }
}
