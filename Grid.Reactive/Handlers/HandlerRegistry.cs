using System.Reactive.Disposables;
using System.Text;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Handlers;

/// <summary>
/// The handlers a manager serves, keyed by handler id and optional static subroute: single-request handlers and
/// stream handlers in separate tables. Reads (one per incoming call) take no lock: each table is an immutable
/// snapshot replaced on every (rare) registration.
/// </summary>
internal sealed class HandlerRegistry
{
    private readonly Table<RequestRegistration> _single = new("handler");
    private readonly Table<StreamRegistration> _streams = new("stream handler");

    public IDisposable AddSingle(HandlerId id, string? subroute, RequestHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return _single.Add(id, subroute, new RequestRegistration(id, subroute, handler));
    }

    public IDisposable AddSingle(HandlerId id, string? subroute, Func<RequestContext, byte[], ValueTask<byte[]>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return _single.Add(id, subroute, new RequestRegistration(id, subroute, handler));
    }

    public IDisposable AddStream(HandlerId id, string? subroute, StreamRegistration registration)
    {
        registration.Options.Validate();
        return _streams.Add(id, subroute, registration);
    }

    public bool TryGetSingle(ushort id, string? subroute, out RequestRegistration handler) => _single.TryGet(id, subroute, out handler);

    public bool TryGetStream(ushort id, string? subroute, out StreamRegistration registration) => _streams.TryGet(id, subroute, out registration);

    public static string Describe(ushort id, string? subroute) =>
        subroute is null ? $"handler {id}" : $"handler {id} with subroute '{subroute}'";

    /// <summary>Checks a subroute as both registration and calls need it: null, or 1 to the protocol's limit of UTF-8 bytes.</summary>
    /// <exception cref="ArgumentException">The subroute is empty or too long.</exception>
    public static void ValidateSubroute(string? subroute)
    {
        if (subroute is not null && (subroute.Length == 0 || Encoding.UTF8.GetByteCount(subroute) > ProtocolConstants.MaxSubrouteBytes))
        {
            throw new ArgumentException($"A subroute is 1 to {ProtocolConstants.MaxSubrouteBytes} UTF-8 bytes.", nameof(subroute));
        }
    }

    private readonly record struct HandlerKey(ushort Id, string? Subroute);

    /// <summary>One copy-on-write table: lock-free reads, registrations under a lock, removal only of the same entry.</summary>
    private sealed class Table<T>(string kind)
        where T : class
    {
        private readonly Lock _writeGate = new();
        private Dictionary<HandlerKey, T> _entries = [];

        public IDisposable Add(HandlerId id, string? subroute, T entry)
        {
            ValidateSubroute(subroute);
            var key = new HandlerKey(id.Value, subroute);
            lock (_writeGate)
            {
                if (_entries.ContainsKey(key))
                {
                    throw new InvalidOperationException($"A {kind} is already registered for {Describe(id.Value, subroute)}.");
                }

                _entries = new Dictionary<HandlerKey, T>(_entries) { [key] = entry };
            }

            return Disposable.Create(() => Remove(key, entry));
        }

        public bool TryGet(ushort id, string? subroute, out T entry) =>
            Volatile.Read(ref _entries).TryGetValue(new HandlerKey(id, subroute), out entry!);

        private void Remove(HandlerKey key, T entry)
        {
            lock (_writeGate)
            {
                if (_entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
                {
                    var next = new Dictionary<HandlerKey, T>(_entries);
                    next.Remove(key);
                    _entries = next;
                }
            }
        }
    }
}

/// <summary>A registered stream handler: the credit-aware shape every handler shape is adapted to, and its windows.</summary>
internal sealed record StreamRegistration(Func<ServerStream, CancellationToken, Task> Serve, StreamHandlerOptions Options);
