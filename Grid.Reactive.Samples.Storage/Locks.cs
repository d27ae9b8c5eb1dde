// The lock service, on a grid of its own ("locks": its own Manager, path and port), so a lock call never queues behind
// data on the storage grid's links. Added with services.AddGrid("locks", configuration.GetSection("Locks")); its
// manager is the keyed service [FromKeyedServices("locks")] Manager.
using System.Collections.Concurrent;
using Grid.Reactive;
using MessagePack;

namespace Grid.Reactive.Samples.Storage;

[MessagePackObject]
public sealed record LockRequest([property: Key(0)] string Name, [property: Key(1)] string Owner);

/// <summary>The lock grid's calls: Lock and Unlock by name.</summary>
internal static class LockCalls
{
    public const string Grid = "locks";

    public static readonly TypedRequest<LockRequest, bool> Lock = new(new HandlerId(1));

    public static readonly TypedRequest<LockRequest, bool> Unlock = new(new HandlerId(2));
}

/// <summary>The locks this node holds for others, in memory (a singleton).</summary>
internal sealed class LockTable
{
    private readonly ConcurrentDictionary<string, string> _held = new(StringComparer.Ordinal);

    public bool Lock(LockRequest request) => _held.GetOrAdd(request.Name, request.Owner) == request.Owner;

    public bool Unlock(LockRequest request) => _held.TryRemove(new KeyValuePair<string, string>(request.Name, request.Owner));
}

internal sealed class LockHandler(LockTable locks) : IGridRequestHandler<LockRequest, bool>
{
    public ValueTask<bool> HandleAsync(LockRequest request, RequestContext context) => ValueTask.FromResult(locks.Lock(request));
}

internal sealed class UnlockHandler(LockTable locks) : IGridRequestHandler<LockRequest, bool>
{
    public ValueTask<bool> HandleAsync(LockRequest request, RequestContext context) => ValueTask.FromResult(locks.Unlock(request));
}
