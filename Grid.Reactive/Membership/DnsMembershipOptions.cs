using System.Net;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive;

/// <summary>
/// A host set read from DNS (see <see cref="MembershipSources.FromDns"/>): every address a name resolves to (its A
/// and AAAA records), each with <see cref="Port"/>, looked up again every <see cref="Interval"/>. This is how a
/// Kubernetes headless service publishes the pods behind it.
/// </summary>
public sealed record DnsMembershipOptions
{
    /// <summary>The name to resolve, for example <c>grid.storage.svc.cluster.local</c>.</summary>
    public required string HostName { get; init; }

    /// <summary>The grid port of every node: each address becomes <c>ip:port</c> (<c>[ip]:port</c> for IPv6).</summary>
    public required int Port { get; init; }

    /// <summary>Time between the end of one lookup and the start of the next, on <see cref="Scheduler"/>. Default 5 seconds.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest one lookup may take, on <see cref="Scheduler"/>; a slower one is cancelled and counts as failed.
    /// Default 10 seconds.
    /// </summary>
    public TimeSpan LookupTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Keep only addresses of this family (<see cref="AddressFamily.InterNetwork"/> or
    /// <see cref="AddressFamily.InterNetworkV6"/>); null keeps all. On a dual-stack cluster each pod has both, and
    /// would be listed twice: pick the family the nodes' own <see cref="ManagerOptions.Address"/> uses. Default null.
    /// </summary>
    public AddressFamily? AddressFamily { get; init; }

    /// <summary>Runs the interval and the lookup timeout; give the grid's own scheduler. Default <see cref="DefaultScheduler.Instance"/>.</summary>
    public IScheduler Scheduler { get; init; } = DefaultScheduler.Instance;

    /// <summary>Resolves a name; replace it in tests. Default <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>.</summary>
    public Func<string, CancellationToken, Task<IPAddress[]>> Resolver { get; init; } = Dns.GetHostAddressesAsync;

    /// <summary>Where failed lookups (once per run of failures) and recoveries are logged. Default: nowhere.</summary>
    public ILogger? Logger { get; init; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(HostName))
        {
            throw new ArgumentException("DnsMembershipOptions.HostName is required.");
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentException($"DnsMembershipOptions.Port must be 1 to 65535, not {Port}.");
        }

        if (Interval <= TimeSpan.Zero || LookupTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("DnsMembershipOptions.Interval and LookupTimeout must be positive.");
        }

        if (Scheduler is null || Resolver is null)
        {
            throw new ArgumentException("DnsMembershipOptions needs a Scheduler and a Resolver.");
        }
    }
}
