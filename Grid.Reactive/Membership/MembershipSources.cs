using Grid.Reactive.Membership;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Grid.Reactive;

/// <summary>
/// Ready-made sources for <see cref="ManagerOptions.Membership"/>. Each is a cold observable of the whole host set that
/// emits when the set changes. Anything else (Consul, etcd, a cloud API, an orchestrator's watch) plugs in as an
/// <c>IObservable&lt;IReadOnlyCollection&lt;string&gt;&gt;</c> of its own: emit the whole set on each change.
/// </summary>
public static class MembershipSources
{
    /// <summary>
    /// The addresses a DNS name resolves to (A and AAAA records, as a Kubernetes headless service publishes its pods),
    /// each as <c>ip:port</c>, looked up at subscription and then every <see cref="DnsMembershipOptions.Interval"/>.
    /// Emits when the set changes. A lookup that fails, times out or finds no address keeps the last set (logged once
    /// until a lookup answers again), so a DNS hiccup never empties the grid; the sequence never errors.
    /// </summary>
    /// <param name="options">The name, port, interval, scheduler and resolver.</param>
    /// <returns>A cold observable: each subscription runs its own lookups, and disposing it stops them.</returns>
    /// <exception cref="ArgumentException">An option is missing or out of range; the message says which.</exception>
    public static IObservable<IReadOnlyCollection<string>> FromDns(DnsMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new DnsMembership(options);
    }

    /// <summary>
    /// The host set held in configuration: <paramref name="selector"/> picks it from the current options at
    /// subscription, and again on every reload (<see cref="IOptionsMonitor{TOptions}.OnChange"/>); emits when the set
    /// changes. A selector that throws on a reload keeps the last set (logged).
    /// </summary>
    /// <typeparam name="TOptions">The options type that holds the host list.</typeparam>
    /// <param name="monitor">The options monitor, from dependency injection.</param>
    /// <param name="selector">Picks the host list from the options; empty and blank entries are skipped.</param>
    /// <param name="name">The named options instance to follow; null for the default one.</param>
    /// <param name="logger">Where a failing selector is logged. Default: nowhere.</param>
    /// <returns>A cold observable: each subscription registers for reloads, and disposing it unregisters.</returns>
    public static IObservable<IReadOnlyCollection<string>> FromOptionsMonitor<TOptions>(IOptionsMonitor<TOptions> monitor,
        Func<TOptions, IEnumerable<string>> selector, string? name = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(selector);
        return new OptionsMembership<TOptions>(monitor, selector, name, logger);
    }
}
