using System.Reactive.Disposables;

namespace Grid.Reactive.Handlers;

/// <summary>
/// The handlers a manager serves, keyed by handler id and optional static subroute. Reads (one per incoming call)
/// take no lock: the table is an immutable snapshot replaced on every (rare) registration.
/// </summary>
internal sealed class HandlerRegistry
{
    private readonly Lock _writeGate = new();
    private Dictionary<HandlerKey, RequestHandler> _single = [];

    public IDisposable AddSingle(HandlerId id, string? subroute, RequestHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ValidateSubroute(subroute);
        var key = new HandlerKey(id.Value, subroute);
        lock (_writeGate)
        {
            if (_single.ContainsKey(key))
            {
                throw new InvalidOperationException($"A handler is already registered for {Describe(id.Value, subroute)}.");
            }

            _single = new Dictionary<HandlerKey, RequestHandler>(_single) { [key] = handler };
        }

        return Disposable.Create(() => Remove(key, handler));
    }

    public bool TryGetSingle(ushort id, string? subroute, out RequestHandler handler) =>
        Volatile.Read(ref _single).TryGetValue(new HandlerKey(id, subroute), out handler!);

    public static string Describe(ushort id, string? subroute) =>
        subroute is null ? $"handler {id}" : $"handler {id} with subroute '{subroute}'";

    private static void ValidateSubroute(string? subroute)
    {
        if (subroute is not null && (subroute.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(subroute) > Protocol.ProtocolConstants.MaxSubrouteBytes))
        {
            throw new ArgumentException($"A subroute is 1 to {Protocol.ProtocolConstants.MaxSubrouteBytes} UTF-8 bytes.", nameof(subroute));
        }
    }

    private void Remove(HandlerKey key, RequestHandler handler)
    {
        lock (_writeGate)
        {
            if (_single.TryGetValue(key, out var current) && ReferenceEquals(current, handler))
            {
                var next = new Dictionary<HandlerKey, RequestHandler>(_single);
                next.Remove(key);
                _single = next;
            }
        }
    }

    private readonly record struct HandlerKey(ushort Id, string? Subroute);
}
