using System.Collections.Frozen;
using System.IO.Hashing;
using System.Text;
using System.Reactive.Concurrency;
using System.Security.Cryptography;
using Grid.Reactive.Handlers;
using Grid.Reactive.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Reactive.Connections;

/// <summary>What every session and connection of one manager shares: identity, settings, handlers and where work runs.</summary>
internal sealed class GridContext
{
    public GridContext(ManagerOptions options)
    {
        Options = options;
        Address = options.Address;
        Remotes = options.Remotes.Where(r => r != options.Address).ToFrozenSet(StringComparer.Ordinal);
        Scheduler = options.Scheduler;
        Dispatcher = new Dispatcher(options.Scheduler);
        Logger = options.Logger ?? NullLogger.Instance;
        User = new UserCode(Dispatcher, Logger);
        LinkSettings = new LinkSettings(options.MaxMessageSize) { Logger = options.Logger };

        // A restarted node must look different to its peers; the seed, when given, keeps simulations replayable.
        // With a seed it is replayable yet differs for a node restarted later on the same clock.
        InstanceId = options.Reconnect.Seed is { } seed
            ? (ulong)new Random(StableSeed(seed ^ options.Scheduler.Now.UtcTicks.GetHashCode(), options.Address)).NextInt64()
            : BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    }

    public ManagerOptions Options { get; }

    public string Address { get; }

    public FrozenSet<string> Remotes { get; }

    public IScheduler Scheduler { get; }

    public Dispatcher Dispatcher { get; }

    public HandlerRegistry Handlers { get; } = new();

    public ILogger Logger { get; }

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
