using System.Collections.Concurrent;
using System.Text;
using Grid.Reactive.Connections;
using Grid.Reactive.Handlers;
using Grid.Reactive.Diagnostics;
using Grid.Reactive.Diagnostics.Logging;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>
/// A session's open streams, both the ones this node called and the ones it serves: routes their frames, keeps them
/// alive with per-stream pings, and ends them all when the session ends. As for single requests, removal from a
/// table decides which of several racing endings wins.
/// </summary>
internal sealed class StreamMux
{
    private readonly Session _session;
    private readonly GridContext _grid;

    // Made at the first stream each way: most connections never open one, and an empty table still costs its buckets.
    private ConcurrentDictionary<ulong, ClientStreamCall>? _calling;
    private ConcurrentDictionary<ulong, ServerStreamCall>? _serving;

    public StreamMux(Session session, GridContext grid)
    {
        _session = session;
        _grid = grid;
    }

    public int Count => (Volatile.Read(ref _calling)?.Count ?? 0) + (Volatile.Read(ref _serving)?.Count ?? 0);

    /// <summary>The guarded hop through which the streams reach user code.</summary>
    public UserCode User => _grid.User;

    public bool TryRegister(ClientStreamCall call)
    {
        if (!_session.IsOpen || _session.RefusesNewCalls)
        {
            return false;
        }

        call.MuxId = _session.NextMuxId();
        var calling = Table(ref _calling);
        calling[call.MuxId] = call;

        // The session sets its state before it sweeps the tables: a stream added after the sweep sees it here.
        return _session.IsOpen || !calling.TryRemove(new KeyValuePair<ulong, ClientStreamCall>(call.MuxId, call));
    }

    public bool TryRemove(ClientStreamCall call) =>
        Volatile.Read(ref _calling)?.TryRemove(new KeyValuePair<ulong, ClientStreamCall>(call.MuxId, call)) == true;

    public bool TryRemove(ServerStreamCall call) =>
        Volatile.Read(ref _serving)?.TryRemove(new KeyValuePair<ulong, ServerStreamCall>(call.MuxId, call)) == true;

    public bool Contains(ClientStreamCall call) =>
        Volatile.Read(ref _calling) is { } calling && calling.TryGetValue(call.MuxId, out var current) && ReferenceEquals(current, call);

    public bool Contains(ServerStreamCall call) =>
        Volatile.Read(ref _serving) is { } serving && serving.TryGetValue(call.MuxId, out var current) && ReferenceEquals(current, call);

    /// <summary>Routes a stream frame (reader context). Frames of a stream that has already ended are dropped.</summary>
    public void Handle(in Frame frame)
    {
        switch (frame.Op)
        {
            case Op.StreamConnect:
                Open(frame);
                break;
            case Op.StreamAck or Op.StreamConnectError or Op.StreamMessageToClient or Op.StreamCreditToClient or Op.StreamCloseToClient:
                if (Volatile.Read(ref _calling) is { } callingTable && callingTable.TryGetValue(frame.MuxId, out var calling))
                {
                    calling.Handle(frame);
                }

                break;
            default:
                if (Volatile.Read(ref _serving) is { } servingTable && servingTable.TryGetValue(frame.MuxId, out var serving))
                {
                    serving.Handle(frame);
                }

                break;
        }
    }

    /// <summary>A caller pings one of our served streams: it is alive; say whether we still know it.</summary>
    public void OnPing(in Frame ping)
    {
        if (Volatile.Read(ref _serving) is { } table && table.TryGetValue(ping.MuxId, out var serving))
        {
            serving.Touch();
            _session.Send(new Frame(Op.Pong, ping.MuxId));
        }
        else
        {
            _session.Send(new Frame(Op.Pong, ping.MuxId, flags: FrameFlags.Error));
        }
    }

    public void OnPong(in Frame pong)
    {
        if (Volatile.Read(ref _calling) is { } table && table.TryGetValue(pong.MuxId, out var calling))
        {
            calling.OnPong(pong);
        }
    }

    /// <summary>
    /// Runs every stream ping interval: pings each stream this node called, and ends the streams whose peer has been
    /// silent longer than the stream timeout (no pong for a called stream, no ping for a served one).
    /// </summary>
    public void Sweep()
    {
        var now = _grid.Scheduler.Now.UtcTicks;
        var timeout = _grid.Options.StreamTimeout;
        foreach (var pair in Entries(ref _calling))
        {
            var silence = TimeSpan.FromTicks(now - pair.Value.LastPongTicks);
            if (silence > timeout)
            {
                pair.Value.End(new DisconnectedException($"No pong for stream {pair.Key} from '{_session.RemoteAddress}' for {silence}; the stream is considered lost."), notifyRemote: true);
            }
            else
            {
                _session.Send(new Frame(Op.Ping, pair.Key));
            }
        }

        foreach (var pair in Entries(ref _serving))
        {
            var silence = TimeSpan.FromTicks(now - pair.Value.LastPingTicks);
            if (silence > timeout)
            {
                SessionLog.StreamPingsStopped(_grid.Logs.Session, pair.Key, _session.RemoteAddress, silence);
                pair.Value.Cancel(new DisconnectedException($"'{_session.RemoteAddress}' stopped pinging stream {pair.Key} for {silence}."), notifyCaller: true);
            }
        }
    }

    public void CloseAll(DisconnectedException lost)
    {
        foreach (var pair in Entries(ref _calling))
        {
            pair.Value.End(lost, notifyRemote: false);
        }

        foreach (var pair in Entries(ref _serving))
        {
            pair.Value.Cancel(lost, notifyCaller: false);
        }
    }

    private void Open(in Frame frame)
    {
        if (_grid.Stopping)
        {
            _session.Send(new Frame(Op.StreamConnectError, frame.MuxId, flags: FrameFlags.Error,
                payload: Encoding.UTF8.GetBytes($"'{_grid.Address}' is shutting down and takes no new streams.")));
            return;
        }

        if (!_grid.Handlers.TryGetStream(frame.HandlerId, frame.Subroute, out var registration))
        {
            var text = $"No stream {HandlerRegistry.Describe(frame.HandlerId, frame.Subroute)} is registered on '{_grid.Address}'.";
            _session.Send(new Frame(Op.StreamConnectError, frame.MuxId, flags: FrameFlags.Error | FrameFlags.HandlerNotFound, payload: Encoding.UTF8.GetBytes(text)));
            return;
        }

        var serving = Volatile.Read(ref _serving)?.Count ?? 0;
        if (serving >= _grid.Options.MaxCallsInFlight)
        {
            // A peer that opens streams without end gets a refusal per stream, not a table that grows.
            _session.Send(new Frame(Op.StreamConnectError, frame.MuxId, seq: (uint)Protocol.ErrorCode.Busy, flags: FrameFlags.Error,
                payload: Encoding.UTF8.GetBytes($"'{_grid.Address}' already serves {serving} streams of '{_session.RemoteAddress}', the most it serves at once (MaxCallsInFlight).")));
            return;
        }

        var table = Table(ref _serving);
        if (table.ContainsKey(frame.MuxId))
        {
            throw new ProtocolException($"Stream mux id {frame.MuxId} is already in use.");
        }

        // From here the stream is in the table, and every way out of it ends its telemetry.
        var telemetry = ServerCallTelemetry.TryStart(_grid, _session, frame, "stream");
        if (telemetry is not null)
        {
            registration = registration with { Serve = telemetry.Wrap(registration.Serve) };
        }

        var call = new ServerStreamCall(_session, frame, registration, telemetry);
        table[frame.MuxId] = call;

        call.Start(StreamDeadline.FromWire(frame.DeadlineMs));
    }

    private static IEnumerable<KeyValuePair<ulong, T>> Entries<T>(ref ConcurrentDictionary<ulong, T>? table) =>
        (IEnumerable<KeyValuePair<ulong, T>>?)Volatile.Read(ref table) ?? Array.Empty<KeyValuePair<ulong, T>>();

    private static ConcurrentDictionary<ulong, T> Table<T>(ref ConcurrentDictionary<ulong, T>? table) =>
        Volatile.Read(ref table) ?? Interlocked.CompareExchange(ref table, new ConcurrentDictionary<ulong, T>(), null) ?? table!;
}
