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
    private Dictionary<HandlerKey, StreamRegistration> _streams = [];

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

    public IDisposable AddStream(HandlerId id, string? subroute, StreamRegistration registration)
    {
        ValidateSubroute(subroute);
        registration.Options.Validate();
        var key = new HandlerKey(id.Value, subroute);
        lock (_writeGate)
        {
            if (_streams.ContainsKey(key))
            {
                throw new InvalidOperationException($"A stream handler is already registered for {Describe(id.Value, subroute)}.");
            }

            _streams = new Dictionary<HandlerKey, StreamRegistration>(_streams) { [key] = registration };
        }

        return Disposable.Create(() =>
        {
            lock (_writeGate)
            {
                if (_streams.TryGetValue(key, out var current) && ReferenceEquals(current, registration))
                {
                    var next = new Dictionary<HandlerKey, StreamRegistration>(_streams);
                    next.Remove(key);
                    _streams = next;
                }
            }
        });
    }

    public bool TryGetStream(ushort id, string? subroute, out StreamRegistration registration) =>
        Volatile.Read(ref _streams).TryGetValue(new HandlerKey(id, subroute), out registration!);

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

/// <summary>A registered stream handler: the credit-aware shape every handler shape is adapted to, and its windows.</summary>
internal sealed record StreamRegistration(Func<ServerStream, CancellationToken, Task> Serve, StreamHandlerOptions Options);
