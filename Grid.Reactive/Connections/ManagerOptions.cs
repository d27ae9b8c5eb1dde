using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive;

/// <summary>Everything a <see cref="Manager"/> is built with. Checked when the manager is created.</summary>
public sealed record ManagerOptions
{
    /// <summary>This node's address, as the other nodes list it (for WebSockets, <c>host:port</c>).</summary>
    public required string Address { get; init; }

    /// <summary>
    /// The addresses of the other nodes, fixed for the node's life. May include <see cref="Address"/>, which is
    /// skipped, so every node of a grid can be given the same list. Default empty. For a set that changes while the
    /// node runs, give <see cref="Membership"/> instead (the two cannot both be given).
    /// </summary>
    public IReadOnlyCollection<string> Remotes { get; init; } = [];

    /// <summary>
    /// The grid's host set as it changes: each value is the whole set (not a change), <see cref="Address"/> may be in
    /// it and is skipped. Subscribed when the node starts: a host that appears gets its connection (dialed by the side
    /// the addresses pick), a host that stays out for <see cref="MembershipGracePeriod"/> has its connection retired.
    /// Null (the default) means the fixed <see cref="Remotes"/>; when this is given, <see cref="Remotes"/> must be
    /// empty. See <see cref="MembershipSources"/> for DNS and configuration sources.
    /// </summary>
    public IObservable<IReadOnlyCollection<string>>? Membership { get; init; }

    /// <summary>
    /// How long a host must stay out of <see cref="Membership"/> before its connection is retired: until then it
    /// works as before (calls in flight finish, new calls go through), so a source that drops a host and lists it again
    /// changes nothing. Then calls still in flight to it fail with <see cref="DisconnectedException"/> saying it left
    /// the membership, and its connection ends in <see cref="ConnectionState.ShutDown"/>. Runs on
    /// <see cref="Scheduler"/>. Zero retires at once. Default 15 seconds.
    /// </summary>
    public TimeSpan MembershipGracePeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How links are made: <c>WebSocketTransport</c> (package Grid.Reactive.AspNetCore) or <see cref="InMemoryNetwork"/>.</summary>
    public required GridTransport Transport { get; init; }

    /// <summary>Proves this node to its peers and checks theirs, for example a <see cref="SharedSecretAuthenticator"/>.</summary>
    public required IGridAuthenticator Authenticator { get; init; }

    /// <summary>
    /// Runs every timer of the grid (deadlines, pings, reconnect backoff, handshake timeouts) and, when it is not the
    /// default scheduler, every dispatch of handlers and results. Pass a <c>TestScheduler</c> to run a grid in virtual time.
    /// Default <see cref="DefaultScheduler.Instance"/>.
    /// </summary>
    public IScheduler Scheduler { get; init; } = DefaultScheduler.Instance;

    /// <summary>Deadline of a single request when the call gives none. Default one minute.</summary>
    public TimeSpan DefaultRequestTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How often each side pings a connection. Default 2 seconds.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A connection on which nothing (no pong, nor any other frame) has arrived for this long is declared dead and
    /// closed, at that moment: every call on it fails and the dialer redials. Default 6 seconds (three pings).
    /// </summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>How often the caller of a stream pings it, and the server side checks it is still pinged. Default 15 seconds.</summary>
    public TimeSpan StreamPingInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A stream whose peer has been silent this long (no pong for the caller, no ping for the handler) is ended with
    /// a clear error on both sides, even while its connection lives. Default 60 seconds.
    /// </summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest a dial plus handshake may take before the attempt counts as failed. Default 10 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A peer whose handshake clock differs from ours by more than this is refused. Default 5 minutes.</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Backoff between redials. Default: 50 ms doubling to 5 s, with 20 % jitter.</summary>
    public ReconnectPolicy Reconnect { get; init; } = new();

    /// <summary>Largest transport message (and so largest frame) accepted, in bytes. Default 16 MiB.</summary>
    public int MaxMessageSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Queued frames are merged into one transport message while it stays under this size, in bytes; a larger frame
    /// goes alone. Default 64 KiB.
    /// </summary>
    public int MaxMergedMessageSize { get; init; } = 64 * 1024;

    /// <summary>Most frames merged into one transport message. Default 256.</summary>
    public int MaxMergedFrames { get; init; } = 256;

    /// <summary>
    /// The output budget of one connection: payload bytes queued for the peer and not yet written. Beyond it the
    /// connection refuses new calls from this node with <see cref="BusyException"/> and holds back the handlers of new
    /// calls from the peer until the peer has read the queue down to half, so a peer that stops reading cannot make
    /// this node buffer without bound. Only queued output counts, not handlers still running (a long-polling handler
    /// never holds others back), so calls that all arrive before the first answer is queued can still run up to
    /// <see cref="MaxCallsInFlight"/> handlers: the worst case per connection is about this budget plus
    /// <see cref="MaxCallsInFlight"/> times the largest answer. Default 8 MiB.
    /// </summary>
    public long MaxQueuedBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// Most single requests this node serves at once on one connection, told to the peer in the handshake; the peer
    /// refuses a call beyond it with <see cref="BusyException"/>, and this node does the same with the peer's figure.
    /// A peer that sends more than it was told is closed with a <see cref="ProtocolException"/>. It also bounds the streams
    /// this node serves at once on one connection: one beyond it is refused with <see cref="BusyException"/>. Default 8,192.
    /// </summary>
    public int MaxCallsInFlight { get; init; } = 8192;

    /// <summary>
    /// Most accepted links waiting for their handshake at once; beyond it a new link is closed at once (and logged),
    /// so sockets that connect and never handshake cannot pile up. Each waits at most <see cref="HandshakeTimeout"/>,
    /// and before its handshake a link accepts only small messages (8 KiB). Default 256. At a cold start about half of
    /// a grid's nodes dial each node at once, so a grid of more than about 500 nodes should raise it to its node count
    /// (a link closed over the cap is redialled after a backoff, so too low a cap slows a cold start, nothing more).
    /// </summary>
    public int MaxPendingHandshakes { get; init; } = 256;

    /// <summary>Append an xxHash3 checksum to every frame this node sends. Checksums received are always checked. Default false.</summary>
    public bool Checksums { get; init; }

    /// <summary>
    /// One logger for every category of the grid's logs. Default: nowhere. Prefer <see cref="LoggerFactory"/>, which
    /// gives each component its own category; when both are set, <see cref="LoggerFactory"/> wins.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Makes the grid's loggers, one category per component (<c>Grid.Reactive.Manager</c>, <c>.Connection</c>,
    /// <c>.Session</c>, <c>.Transport</c>, <c>.UserCode</c>), with stable event ids. Default: <see cref="Logger"/>, or nowhere.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Makes the grid's <see cref="System.Diagnostics.Metrics.Meter"/> (named <see cref="GridDiagnostics.MeterName"/>),
    /// for example the one of the application's dependency injection. Default: a process-wide meter of that name.
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }
}

/// <summary>
/// Exponential backoff with jitter between redials: the n-th consecutive failure waits
/// <c>min(MaxDelay, InitialDelay * Multiplier^n)</c>, then scaled by a random factor in <c>[1 - Jitter, 1 + Jitter]</c>.
/// Losing a connection that stayed up at least <see cref="StableAfter"/> redials at once and starts the sequence
/// over; losing one sooner (a link that flaps) goes on with the backoff where it was.
/// </summary>
public sealed record ReconnectPolicy
{
    /// <summary>Wait after the first failure. Default 50 ms.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest wait. Default 5 seconds.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Growth per consecutive failure. Default 2.</summary>
    public double Multiplier { get; init; } = 2;

    /// <summary>Relative jitter, 0 to 1. Default 0.2.</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>How long a connection must have stayed up for its loss to be redialled at once. Default 1 second.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Seed of the jitter's random sequence, so a simulation replays exactly; null for a random seed.</summary>
    public int? Seed { get; init; }

    /// <summary>The wait before attempt <paramref name="failures"/> + 1, given a random sample in [0, 1).</summary>
    /// <param name="failures">Consecutive failures so far, at least 1.</param>
    /// <param name="sample">A uniform random sample in [0, 1).</param>
    /// <returns>The delay.</returns>
    public TimeSpan DelayFor(int failures, double sample)
    {
        var exponent = Math.Max(0, failures - 1);
        var baseTicks = InitialDelay.Ticks * Math.Pow(Multiplier, Math.Min(exponent, 62));
        var capped = Math.Min(baseTicks, MaxDelay.Ticks);
        var factor = 1 + (Jitter * ((2 * sample) - 1));
        return TimeSpan.FromTicks((long)Math.Max(0, capped * factor));
    }

    internal void Validate()
    {
        if (InitialDelay <= TimeSpan.Zero || MaxDelay < InitialDelay)
        {
            throw new ArgumentException("ReconnectPolicy needs 0 < InitialDelay <= MaxDelay.");
        }

        if (Multiplier < 1 || Jitter is < 0 or > 1 || StableAfter < TimeSpan.Zero)
        {
            throw new ArgumentException("ReconnectPolicy needs Multiplier >= 1, 0 <= Jitter <= 1 and StableAfter >= 0.");
        }
    }
}
