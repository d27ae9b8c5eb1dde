using System.Collections.Concurrent;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using System.Text;
using Grid.Reactive.Muxing;
using Grid.Reactive.Muxing.Streams;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Connections;

/// <summary>
/// The protocol core of one link's life: handshake, then multiplexed calls both ways, pings, and the failure of
/// every call when it ends. It owns no thread, socket or clock: the link feeds it messages and pulls frames from
/// it, and time comes from the grid's scheduler. A session never reopens; a redial makes a new one.
/// </summary>
/// <remarks>
/// Threading: <c>OnMessage</c> runs on the link's reader context, one message at a time. Calls are issued,
/// cancelled and timed out from any thread; their tables are concurrent dictionaries in which removal decides who
/// ends a call, so every call ends exactly once without a lock on the frame path.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Close disposes the timers; a session ends only through Close.")]
internal sealed class Session : ILinkHandler
{
    private const int Handshaking = 0;
    private const int Open = 1;
    private const int Rejected = 2;
    private const int Closed = 3;

    private readonly GridContext _grid;
    private readonly ILink _link;
    private readonly ISessionOwner _owner;
    private readonly OutboundQueue _out;
    private readonly ConcurrentDictionary<ulong, OutgoingRequest> _outgoing = new();
    private readonly ConcurrentDictionary<ulong, IncomingRequest> _incoming = new();
    private readonly CompositeDisposable _timers = new();
    private Subject<Frame>? _traceIn;
    private int _state;
    private long _nextMuxId;
    private long _lastPongTicks;

    private Session(GridContext grid, ILink link, ISessionOwner owner, string? remote)
    {
        _grid = grid;
        _link = link;
        _owner = owner;
        RemoteAddress = remote;
        IsDialer = remote is not null;
        _out = new OutboundQueue(link, grid.Options.Checksums, grid.Options.MaxMergedMessageSize, grid.Options.MaxMergedFrames);
        Streams = new StreamMux(this, grid);
        Deadlines = new DeadlineList(grid.Scheduler);
    }

    /// <summary>The deadlines of this session's single requests, both ways, under one timer.</summary>
    public DeadlineList Deadlines { get; }

    /// <summary>The streams open on this session, both ways.</summary>
    public StreamMux Streams { get; }

    /// <summary>The peer's address: known up front when dialing, learned from the handshake when accepting.</summary>
    public string? RemoteAddress { get; private set; }

    public bool IsDialer { get; }

    public bool IsOpen => Volatile.Read(ref _state) == Open;

    public IScheduler Scheduler => _grid.Scheduler;

    public Dispatcher Dispatcher => _grid.Dispatcher;

    public int MaxPayload => _grid.MaxPayload;

    public int PendingOutgoing => _outgoing.Count;

    public int PendingIncoming => _incoming.Count;

    public int PendingStreams => Streams.Count;

    public string Describe => $"{_grid.Address} <-> {RemoteAddress ?? "?"} ({_link.Description})";

    /// <summary>Starts a session on a link this node dialed: sends the handshake and waits for the answer.</summary>
    public static Session Dial(GridContext grid, ILink link, ISessionOwner owner, string remote,
        Subject<Frame> traceIn, Subject<Frame> traceOut)
    {
        var session = new Session(grid, link, owner, remote);
        session.SetTraces(traceIn, traceOut);
        session.Start();
        var hello = new HandshakeMessage(ProtocolConstants.Version, grid.Address, remote,
            grid.Scheduler.Now.ToUnixTimeMilliseconds(), grid.InstanceId, []);
        hello = hello with { Token = grid.Options.Authenticator.CreateToken(hello.Claims(isResponse: false)) };
        session.Send(new Frame(Op.Connect, payload: HandshakeCodec.Encode(hello)));
        return session;
    }

    /// <summary>Starts a session on a link this node accepted: waits for the dialer's handshake.</summary>
    public static Session Accept(GridContext grid, ILink link, ISessionOwner owner)
    {
        var session = new Session(grid, link, owner, remote: null);
        session.Start();
        return session;
    }

    /// <summary>Points the frame traces at a connection's subjects (an accepted session learns its connection late).</summary>
    public void SetTraces(Subject<Frame> traceIn, Subject<Frame> traceOut)
    {
        Volatile.Write(ref _traceIn, traceIn);
        _out.Trace = traceOut;
    }

    public void Send(in Frame frame) => _out.Enqueue(frame);

    /// <summary>Registers a call and gives it a mux id; false when the session is no longer open.</summary>
    public bool TryRegister(OutgoingRequest request)
    {
        if (!IsOpen)
        {
            return false;
        }

        request.MuxId = NextMuxId();
        _outgoing[request.MuxId] = request;

        // Close sets the state before it sweeps the table: a call added after the sweep sees it here.
        return IsOpen || !_outgoing.TryRemove(new KeyValuePair<ulong, OutgoingRequest>(request.MuxId, request));
    }

    /// <summary>A fresh id for a call or stream this node starts.</summary>
    public ulong NextMuxId() => (ulong)Interlocked.Increment(ref _nextMuxId);

    /// <summary>Takes a call out of the table; true for the one caller that may end it.</summary>
    public bool TryRemove(OutgoingRequest request) =>
        _outgoing.TryRemove(new KeyValuePair<ulong, OutgoingRequest>(request.MuxId, request));

    public bool IsPending(IncomingRequest request) =>
        _incoming.TryGetValue(request.MuxId, out var current) && ReferenceEquals(current, request);

    public bool TryRemove(IncomingRequest request) =>
        _incoming.TryRemove(new KeyValuePair<ulong, IncomingRequest>(request.MuxId, request));

    /// <summary>Ends the session: closes the link, fails every call in flight and tells the owner. Idempotent.</summary>
    public void Close(Exception reason)
    {
        if (Interlocked.Exchange(ref _state, Closed) == Closed)
        {
            return;
        }

        _timers.Dispose();
        Deadlines.Close();
        _link.Close(reason);
        var lost = reason as DisconnectedException
            ?? new DisconnectedException($"The connection {_grid.Address} <-> {RemoteAddress ?? "?"} was lost: {reason.Message}", reason);
        foreach (var pair in _outgoing)
        {
            if (_outgoing.TryRemove(pair))
            {
                pair.Value.Fail(lost);
            }
        }

        foreach (var pair in _incoming)
        {
            if (_incoming.TryRemove(pair))
            {
                pair.Value.Cancel();
            }
        }

        Streams.CloseAll(lost);

        _owner.OnClosed(this, reason);
    }

    void ILinkHandler.OnMessage(ReadOnlyMemory<byte> message)
    {
        if (Volatile.Read(ref _state) >= Rejected)
        {
            return;
        }

        try
        {
            var reader = new MessageReader(message);
            while (reader.TryRead(out var frame))
            {
                var trace = Volatile.Read(ref _traceIn);
                if (trace is { HasObservers: true })
                {
                    trace.OnNext(frame);
                }

                switch (Volatile.Read(ref _state))
                {
                    case Open:
                        Handle(frame);
                        break;
                    case Handshaking:
                        Handshake(frame);
                        break;
                    default:
                        return;
                }
            }
        }
        catch (ProtocolException ex)
        {
            _grid.Logger.LogWarning("Protocol error from {Remote} on {Link}: {Reason}", RemoteAddress ?? "?", _link.Description, ex.Message);
            Close(ex);
        }
#pragma warning disable CA1031 // Nothing may escape into the link's reader: the session ends with the cause instead.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _grid.Logger.LogError(ex, "Failure handling a message from {Remote} on {Link}", RemoteAddress ?? "?", _link.Description);
            Close(new GridException($"Handling a message from '{RemoteAddress ?? "?"}' failed: {ex.Message}", ex));
        }
    }

    bool ILinkHandler.TryWriteMessage(PooledBufferWriter output) => _out.TryWriteMessage(output);

    void ILinkHandler.OnClosed(Exception? error) =>
        Close(error ?? new DisconnectedException($"{RemoteAddress ?? "The peer"} closed the link to {_grid.Address}."));

    private void Start()
    {
        _timers.Add(_grid.Scheduler.Schedule(this, _grid.Options.HandshakeTimeout, static (_, self) =>
        {
            self.OnHandshakeTimeout();
            return Disposable.Empty;
        }));
        _link.Start(this);
    }

    private void OnHandshakeTimeout()
    {
        if (Volatile.Read(ref _state) is Handshaking or Rejected)
        {
            Close(new HandshakeRejectedException($"No handshake on {_link.Description} within {_grid.Options.HandshakeTimeout}."));
        }
    }

    private void Handshake(in Frame frame)
    {
        var expected = IsDialer ? Op.ConnectResponse : Op.Connect;
        if (frame.Op != expected)
        {
            throw new ProtocolException($"Expected {expected} before anything else, got {frame.Op}.");
        }

        if (IsDialer && (frame.Flags & FrameFlags.Error) != 0)
        {
            var refusal = new HandshakeRejectedException($"'{RemoteAddress}' refused the handshake: {Encoding.UTF8.GetString(frame.Payload.Span)}");
            _grid.Logger.LogWarning("{Reason}", refusal.Message);
            Close(refusal);
            return;
        }

        var peer = HandshakeCodec.Decode(frame.Payload);
        var reason = HandshakeValidator.Check(_grid, peer, isResponse: IsDialer, RemoteAddress);
        if (reason is not null)
        {
            _grid.Logger.LogWarning("Refused handshake from {Remote} on {Link}: {Reason}", peer.From, _link.Description, reason);
            if (IsDialer)
            {
                Close(new HandshakeRejectedException($"Refused the answer of '{RemoteAddress}': {reason}"));
            }
            else
            {
                // Say why, serve nothing more, and let the dialer (or the handshake timeout) close the link.
                Volatile.Write(ref _state, Rejected);
                Send(new Frame(Op.ConnectResponse, flags: FrameFlags.Error, payload: Encoding.UTF8.GetBytes(reason)));
            }

            return;
        }

        RemoteAddress = peer.From;
        RemoteInstanceId = peer.InstanceId;
        if (!IsDialer)
        {
            // The answer goes out before anything this node may send once the session is visible to callers.
            var answer = new HandshakeMessage(ProtocolConstants.Version, _grid.Address, peer.From,
                _grid.Scheduler.Now.ToUnixTimeMilliseconds(), _grid.InstanceId, []);
            answer = answer with { Token = _grid.Options.Authenticator.CreateToken(answer.Claims(isResponse: true)) };
            Send(new Frame(Op.ConnectResponse, payload: HandshakeCodec.Encode(answer)));
        }

        Interlocked.Exchange(ref _lastPongTicks, _grid.Scheduler.Now.UtcTicks);
        if (Interlocked.CompareExchange(ref _state, Open, Handshaking) != Handshaking)
        {
            return;
        }

        _timers.Add(_grid.Scheduler.SchedulePeriodic(this, _grid.Options.PingInterval, static self =>
        {
            self.OnPingTick();
            return self;
        }));
        _timers.Add(_grid.Scheduler.SchedulePeriodic(this, _grid.Options.StreamPingInterval, static self =>
        {
            self.Streams.Sweep();
            return self;
        }));
        _grid.Logger.LogInformation("Connected {Local} <-> {Remote} ({Link})", _grid.Address, RemoteAddress, _link.Description);
        _owner.OnOpened(this);
    }

    /// <summary>The peer's manager instance: a different one after the peer restarted.</summary>
    public ulong RemoteInstanceId { get; private set; }

    private void OnPingTick()
    {
        var silence = _grid.Scheduler.Now.UtcTicks - Interlocked.Read(ref _lastPongTicks);
        if (silence > _grid.Options.PingTimeout.Ticks)
        {
            Close(new DisconnectedException($"No pong from '{RemoteAddress}' for {TimeSpan.FromTicks(silence)}; the connection from '{_grid.Address}' is considered dead."));
            return;
        }

        Send(new Frame(Op.Ping));
    }

    private void Handle(in Frame frame)
    {
        switch (frame.Op)
        {
            case Op.Request:
                OnRequest(frame);
                break;
            case Op.Response:
                if (_outgoing.TryRemove(frame.MuxId, out var request))
                {
                    request.Complete(frame);
                }

                // Otherwise the caller already gave up (disposed or timed out): the late answer is dropped.
                break;
            case Op.RequestCancel:
                if (_incoming.TryRemove(frame.MuxId, out var incoming))
                {
                    incoming.Cancel();
                }

                break;
            case Op.Ping when frame.MuxId != 0:
                Streams.OnPing(frame);
                break;
            case Op.Ping:
                Send(new Frame(Op.Pong));
                break;
            case Op.Pong when frame.MuxId != 0:
                Streams.OnPong(frame);
                break;
            case Op.Pong:
                Interlocked.Exchange(ref _lastPongTicks, _grid.Scheduler.Now.UtcTicks);
                break;
            case >= Op.StreamConnect and <= Op.StreamCloseToClient:
                Streams.Handle(frame);
                break;
            case Op.Disconnect:
                var why = frame.Payload.IsEmpty ? "shutting down" : Encoding.UTF8.GetString(frame.Payload.Span);
                Close(new DisconnectedException($"'{RemoteAddress}' closed the connection: {why}."));
                break;
            default:
                throw new ProtocolException($"Unexpected {frame.Op} frame on an open connection.");
        }
    }

    private void OnRequest(in Frame frame)
    {
        if (!_grid.Handlers.TryGetSingle(frame.HandlerId, frame.Subroute, out var handler))
        {
            var text = $"No {Handlers.HandlerRegistry.Describe(frame.HandlerId, frame.Subroute)} is registered on '{_grid.Address}'.";
            Send(new Frame(Op.Response, frame.MuxId, flags: FrameFlags.Error | FrameFlags.HandlerNotFound, payload: Encoding.UTF8.GetBytes(text)));
            return;
        }

        var payload = frame.Payload.IsEmpty ? [] : frame.Payload.ToArray();
        var request = new IncomingRequest(this, frame.MuxId, handler, payload);
        if (!_incoming.TryAdd(frame.MuxId, request))
        {
            throw new ProtocolException($"Request mux id {frame.MuxId} is already in use.");
        }

        var deadline = frame.DeadlineMs == 0 ? _grid.Options.DefaultRequestTimeout : TimeSpan.FromMilliseconds(frame.DeadlineMs);
        request.Start(deadline);
    }
}
