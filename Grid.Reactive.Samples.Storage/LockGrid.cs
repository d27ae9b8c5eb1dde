// The lock service on a grid of its own: its own Manager, WebSocketTransport, path and port, so a lock call never
// queues behind data on the storage grid's links. services.AddGrid registers one grid (the storage grid); this one is
// created explicitly and started and stopped with the host by LockGridService.
using System.Collections.Concurrent;
using System.Text;
using Grid.Reactive;
using MessagePack;

namespace Grid.Reactive.Samples.Storage;

[MessagePackObject]
public sealed record LockRequest([property: Key(0)] string Name, [property: Key(1)] string Owner);

/// <summary>The lock grid's node: Lock and Unlock by name, held in memory.</summary>
internal sealed class LockGrid : IAsyncDisposable
{
    public static readonly TypedRequest<LockRequest, bool> Lock = new(new HandlerId(1));
    public static readonly TypedRequest<LockRequest, bool> Unlock = new(new HandlerId(2));

    private readonly ConcurrentDictionary<string, string> _held = new(StringComparer.Ordinal);

    public LockGrid(string address, IReadOnlyList<string> remotes, string secret, ILoggerFactory loggers)
    {
        Manager = new Manager(new ManagerOptions
        {
            Address = address,
            Remotes = [.. remotes],
            Transport = new WebSocketTransport(new WebSocketTransportOptions { Path = "/locks/v1", SelfHost = true }),
            Authenticator = new SharedSecretAuthenticator(Encoding.UTF8.GetBytes(secret)),
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromSeconds(1) },
            Logger = loggers.CreateLogger("Grid.Reactive.Locks"),
        });
        Lock.Register(Manager, (request, _) => ValueTask.FromResult(_held.GetOrAdd(request.Name, request.Owner) == request.Owner));
        Unlock.Register(Manager, (request, _) => ValueTask.FromResult(_held.TryRemove(new KeyValuePair<string, string>(request.Name, request.Owner))));
    }

    public Manager Manager { get; }

    public ValueTask DisposeAsync() => Manager.DisposeAsync();
}

/// <summary>Starts the lock grid with the host and drains it when the host stops.</summary>
internal sealed class LockGridService(LockGrid locks) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => locks.Manager.StartAsync(cancellationToken).AsTask();

    public Task StopAsync(CancellationToken cancellationToken) => locks.Manager.StopAsync(TimeSpan.FromSeconds(2), cancellationToken).AsTask();
}
