using System.Collections.Frozen;
using System.IO.Hashing;
using System.Text;
using System.Reactive.Concurrency;
using System.Security.Cryptography;
using Grid.Reactive.Handlers;
using Grid.Reactive.Transport;
using Grid.Reactive.Diagnostics;
using Grid.Reactive.Diagnostics.Logging;

namespace Grid.Reactive.Connections;

/// <summary>What every session and connection of one manager shares: identity, settings, handlers and where work runs.</summary>
internal sealed class GridContext
{
    public GridContext(ManagerOptions options)
    {
        Options = options;
        Address = options.Address;
        _remotes = options.Remotes.Where(r => r != options.Address).ToFrozenSet(StringComparer.Ordinal);
        Scheduler = options.Scheduler;
        Dispatcher = new Dispatcher(options.Scheduler);
        Logs = new GridLoggers(options.LoggerFactory, options.Logger);
        Metrics = GridMetrics.For(options.MeterFactory);
        User = new UserCode(Dispatcher, Logs.UserCode);
        LinkSettings = new LinkSettings(options.MaxMessageSize) { Logger = Logs.Transport };

        // A restarted node must look different to its peers; the seed, when given, keeps simulations replayable.
        // With a seed it is replayable yet differs for a node restarted later on the same clock.
        InstanceId = options.Reconnect.Seed is { } seed
            ? (ulong)new Random(StableSeed(seed ^ options.Scheduler.Now.UtcTicks.GetHashCode(), options.Address)).NextInt64()
            : BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    }

    public ManagerOptions Options { get; }

    public string Address { get; }

    /// <summary>
    /// The remotes this node knows now: swapped whole when the membership changes (under the peer table's lock), read
    /// without a lock.
    /// </summary>
    public FrozenSet<string> Remotes
    {
        get => Volatile.Read(ref _remotes);
        set => Volatile.Write(ref _remotes, value);
    }

    private FrozenSet<string> _remotes;

    public IScheduler Scheduler { get; }

    public Dispatcher Dispatcher { get; }

    public HandlerRegistry Handlers { get; } = new();

    /// <summary>The node's loggers, one per component.</summary>
    public GridLoggers Logs { get; }

    /// <summary>The node's instruments.</summary>
    public GridMetrics Metrics { get; }

    /// <summary>Handshake refusals already logged at Warning, so a peer that redials with the same fault is told once.</summary>
    public RepeatFilter Refusals { get; } = new();

    /// <summary>The one guarded hop through which protocol and timer code calls user code.</summary>
    public UserCode User { get; }

    public LinkSettings LinkSettings { get; }

    /// <summary>Largest payload of one frame: the message cap less room for a frame's header and subroute.</summary>
    public int MaxPayload => PayloadLimit(Options.MaxMessageSize);

    /// <summary>The largest payload of one frame a node with this message cap accepts: less room for a frame's header and subroute.</summary>
    public static int PayloadLimit(int maxMessageSize) => maxMessageSize - Protocol.ProtocolConstants.MaxSubrouteBytes - 64;

    public ulong InstanceId { get; }

    /// <summary>Set when the node starts an orderly stop: it takes no new calls, and finishes those in flight.</summary>
    public bool Stopping
    {
        get => Volatile.Read(ref _stopping);
        set => Volatile.Write(ref _stopping, value);
    }

    private bool _stopping;

    /// <summary>
    /// A seed mixed from a number and a text that is the same in every process (string.GetHashCode is randomized
    /// per process, which would make a simulation unreplayable from its seed).
    /// </summary>
    public static int StableSeed(int seed, string text) =>
        (int)XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(text), seed);
}
