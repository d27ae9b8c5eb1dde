using System.Buffers;
using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Subjects;
using System.Text;
using Grid.Reactive.Diagnostics.Logging;
using Grid.Reactive.Muxing;
using Grid.Reactive.Muxing.Streams;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Connections;

/// <summary>
/// The protocol core of one link's life: handshake, then multiplexed calls both ways, pings, and the failure of
/// every call when it ends. It owns no thread, socket or clock: the link feeds it messages and pulls frames from
/// it, and time comes from the grid's scheduler. A session never reopens; a redial makes a new one.
/// </summary>
/// <remarks>
/// Threading: one thread of control. Every message, timer tick, call start, cancel and answer runs on the session's
/// <see cref="SerialLoop"/>, so the call tables and the deadline heap are plain, unlocked structures and each call's
/// ending is decided in one place. User code never runs on the loop: handlers and observers are reached through the
/// grid's guarded hop (<see cref="UserCode"/>).
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The loop disposes the timer when the session closes; a session ends only through Close.")]
internal sealed partial class Session : ILinkHandler
{
    private const int Handshaking = 0;
    private const int Open = 1;
    private const int Rejected = 2;
    private const int Closed = 3;

    private readonly GridContext _grid;
    private readonly ILink _link;
    private readonly ISessionOwner _owner;
    private readonly OutboundQueue _out;
    private readonly SerialLoop _loop;
    private readonly Dictionary<ulong, OutgoingRequest> _outgoing = [];
    private readonly Dictionary<ulong, IncomingRequest> _incoming = [];
    private readonly Queue<IncomingRequest> _parked = new();
    private readonly DeadlineHeap _deadlines = new();
    private Subject<Frame>? _traceIn;
    private int _state;
    private long _nextMuxId;
    private Exception? _closeReason;
    private bool _closeOrderly;
    private volatile bool _peerGoingAway;

    private Session(GridContext grid, ILink link, ISessionOwner owner, string? remote)
    {
        _grid = grid;
        _link = link;
        _owner = owner;
        RemoteAddress = remote;
        IsDialer = remote is not null;
        _out = new OutboundQueue(link, grid.Options.Checksums, grid.Options.MaxMergedMessageSize, grid.Options.MaxMergedFrames);
        _loop = new SerialLoop(grid.Dispatcher);
        _timerWork = new TimerWork(this);
        _closeWork = new CloseWork(this);
        _resumeWork = new ResumeWork(this);
        Streams = new StreamMux(this, grid);
        PeerMaxPayload = grid.MaxPayload;
        PeerMaxCalls = grid.Options.MaxCallsInFlight;
    }

    /// <summary>The streams open on this session, both ways.</summary>
    public StreamMux Streams { get; }

    /// <summary>The peer's address: known up front when dialing, learned from the handshake when accepting.</summary>
    public string? RemoteAddress { get; private set; }

    /// <summary>The peer's manager instance: a different one after the peer restarted.</summary>
    public ulong RemoteInstanceId { get; private set; }

    public bool IsDialer { get; }

    public bool IsOpen => Volatile.Read(ref _state) == Open;

    public IScheduler Scheduler => _grid.Scheduler;

    public Dispatcher Dispatcher => _grid.Dispatcher;

    /// <summary>What the session's manager shares (settings, telemetry).</summary>
    public GridContext Grid => _grid;

    public UserCode User => _grid.User;

    public int MaxPayload => _grid.MaxPayload;

    /// <summary>The largest payload the peer accepts in one frame, as it told in the handshake.</summary>
    public int PeerMaxPayload { get; private set; }

    /// <summary>True when the peer told in its handshake that it reads trace contexts (<see cref="ProtocolFeatures.TraceContext"/>).</summary>
    public bool PeerTakesTraceContext { get; private set; }

    /// <summary>How many calls the peer serves at once on this connection, as it told in the handshake.</summary>
    public int PeerMaxCalls { get; private set; }

    public int PendingOutgoing => _outgoing.Count;

    public int PendingIncoming => _incoming.Count;

    public int PendingStreams => Streams.Count;

    /// <summary>True when either side is stopping: no new calls start on this session.</summary>
    public bool RefusesNewCalls => _peerGoingAway || _grid.Stopping;

    /// <summary>The link is over (see <see cref="ILink.Ended"/>).</summary>
    public Task LinkEnded => _link.Ended;

    /// <summary>Tells the peer this node is stopping: it takes no new calls here, and calls in flight still finish.</summary>
    public void GoAway() => Send(new Frame(Op.Disconnect, flags: FrameFlags.Eof, payload: Encoding.UTF8.GetBytes("going away")));

    /// <summary>Payload bytes queued for the link and not yet written.</summary>
    public long QueuedBytes => _out.QueuedBytes;

    public string Describe => $"{_grid.Address} <-> {RemoteAddress ?? "?"} ({_link.Description})";

    /// <summary>Starts a session on a link this node dialed: sends the handshake and waits for the answer.</summary>
    public static Session Dial(GridContext grid, ILink link, ISessionOwner owner, string remote,
        Subject<Frame> traceIn, Subject<Frame> traceOut)
    {
        var session = new Session(grid, link, owner, remote);
        session.SetTraces(traceIn, traceOut);
        session.Send(new Frame(Op.Connect, seq: (uint)ProtocolFeatures.Supported, payload: HandshakeCodec.Encode(session.Hello(remote))));
        session.Start();
        return session;
    }

    /// <summary>Starts a session on a link this node accepted: waits for the dialer's handshake.</summary>
    public static Session Accept(GridContext grid, ILink link, ISessionOwner owner)
    {
        var session = new Session(grid, link, owner, remote: null);
        session.Start();
        return session;
    }

    /// <summary>Points the frame traces at a connection's relays (an accepted session learns its connection late).</summary>
    public void SetTraces(Subject<Frame> traceIn, Subject<Frame> traceOut)
    {
        Volatile.Write(ref _traceIn, traceIn);
        _out.Trace = traceOut;
    }

    /// <summary>Queues a frame for the link; any thread.</summary>
    public void Send(in Frame frame) => _out.Enqueue(frame);

    /// <summary>Runs <paramref name="work"/> on the session's loop; any thread.</summary>
    public void Post(ILoopWork work) => _loop.Post(work);

    /// <summary>
    /// Continues on the loop from a handler's completion on an arbitrary thread: directly on the thread pool, through
    /// the scheduler otherwise, so that a grid under a <c>TestScheduler</c> only ever runs on it.
    /// </summary>
    public void Resume(ILoopWork work) => _grid.Dispatcher.Resume(static s => s.Self._loop.Post(s.Work), (Self: this, Work: work));

    /// <summary>A fresh id for a call or stream this node starts.</summary>
    public ulong NextMuxId() => (ulong)Interlocked.Increment(ref _nextMuxId);

    /// <summary>
    /// Ends the session: closes the link, fails every call in flight and tells the owner. Any thread; idempotent (the
    /// first reason wins). <paramref name="orderly"/> writes everything queued before the link's close.
    /// </summary>
    public void Close(Exception reason, bool orderly = false)
    {
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is not null)
        {
            return;
        }

        _closeOrderly = orderly;
        Volatile.Write(ref _state, Closed);
        _loop.Post(_closeWork);
    }

    // ---- loop only, from here on ----

    void ILinkHandler.OnMessage(ReadOnlyMemory<byte> message)
    {
        if (_state >= Rejected)
        {
            return;
        }

        if (_loop.TryEnter())
        {
            // Earlier messages copied while the loop was busy go first.
            _loop.RunQueued();
            Process(message);
            _loop.RunAndExit();
            return;
        }

        // The loop is busy on another thread, and the message is only valid during this call: hand over a copy.
        var copy = ArrayPool<byte>.Shared.Rent(message.Length);
        message.Span.CopyTo(copy);
        _loop.Post(new CopiedMessage(this, copy, message.Length));
    }

    bool ILinkHandler.TryWriteMessage(PooledBufferWriter output)
    {
        var before = output.WrittenCount;
        if (!_out.TryWriteMessage(output))
        {
            return false;
        }

        _grid.Metrics.Message(output.WrittenCount - before, transmit: true);
        return true;
    }

    void ILinkHandler.OnClosed(Exception? error) =>
        Close(error ?? new DisconnectedException($"{RemoteAddress ?? "The peer"} closed the link to {_grid.Address}."));

    private void Start()
    {
        var entered = _loop.TryEnter();
        System.Diagnostics.Debug.Assert(entered, "nobody else knows the session yet");
        _handshakeDueTicks = DeadlineHeap.DueAt(_grid.Scheduler.Now.UtcTicks, _grid.Options.HandshakeTimeout);
        ArmTimer();
        _link.Start(this);
        _loop.RunAndExit();
    }

    private void Process(ReadOnlyMemory<byte> message)
    {
        if (_state >= Rejected)
        {
            return;
        }

        try
        {
            Volatile.Write(ref _lastHeardTicks, _grid.Scheduler.Now.UtcTicks);
            _grid.Metrics.Message(message.Length, transmit: false);
            var reader = new MessageReader(message);
            while (reader.TryRead(out var frame))
            {
                var trace = Volatile.Read(ref _traceIn);
                if (trace is { HasObservers: true })
                {
                    trace.OnNext(frame);
                }

                switch (_state)
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
            SessionLog.ProtocolError(_grid.Logs.Session, RemoteAddress ?? "?", _link.Description, ex.Message);
            Close(ex);
        }
#pragma warning disable CA1031 // Nothing may escape into the link's reader: the session ends with the cause instead.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SessionLog.MessageHandlingFailed(_grid.Logs.Session, ex, RemoteAddress ?? "?", _link.Description);
            Close(new GridException($"Handling a message from '{RemoteAddress ?? "?"}' failed: {ex.Message}", ex));
        }
    }

    private void Handle(in Frame frame)
    {
        switch (frame.Op)
        {
            case Op.Request:
                OnRequest(frame);
                break;
            case Op.Response:
                if (_outgoing.Remove(frame.MuxId, out var request))
                {
                    _deadlines.Remove(request);
                    request.Complete(frame);
                }

                // Otherwise the caller already gave up (disposed or timed out): the late answer is dropped.
                break;
            case Op.RequestCancel:
                if (_incoming.Remove(frame.MuxId, out var incoming))
                {
                    _deadlines.Remove(incoming);
                    incoming.Cancel();
                }

                break;
            case Op.Ping when frame.MuxId != 0:
                Streams.OnPing(frame);
                break;
            case Op.Ping:
                _out.EnqueuePong();
                break;
            case Op.Pong when frame.MuxId != 0:
                Streams.OnPong(frame);
                break;
            case Op.Pong:
                break; // every frame heard is proof of life
            case >= Op.StreamConnect and <= Op.StreamCloseToClient:
                Streams.Handle(frame);
                break;
            case Op.ConnectProof when !IsDialer && (frame.Flags & FrameFlags.Error) != 0:
                OnRefusedByDialer(frame); // the dialer did not accept this node's proof
                break;
            case Op.Disconnect when (frame.Flags & FrameFlags.Eof) != 0:
                // Going away: no new calls to it; calls in flight finish, then a plain Disconnect follows.
                _peerGoingAway = true;
                ConnectionLog.PeerGoingAway(_grid.Logs.Connection, RemoteAddress, _grid.Address);
                break;
            case Op.Disconnect:
                var why = frame.Payload.IsEmpty ? "shutting down" : Encoding.UTF8.GetString(frame.Payload.Span);
                Close(new DisconnectedException($"'{RemoteAddress}' closed the connection: {why}."), orderly: true);
                break;
            default:
                throw new ProtocolException($"Unexpected {frame.Op} frame on an open connection.");
        }
    }


    /// <summary>A copy of a message that arrived while the loop was busy elsewhere.</summary>
    private sealed class CopiedMessage(Session session, byte[] buffer, int length) : ILoopWork
    {
        public void RunOnLoop()
        {
            session.Process(buffer.AsMemory(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
