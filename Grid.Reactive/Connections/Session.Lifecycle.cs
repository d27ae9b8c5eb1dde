using System.Globalization;
using System.Reactive.Disposables;
using System.Security.Cryptography;
using System.Text;
using Grid.Reactive.Diagnostics.Logging;
using Grid.Reactive.Muxing;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Connections;

/// <summary>The session's handshake, its one timer (deadlines, pings, liveness, stream sweeps), holding back handlers while output is over budget, and its end.</summary>
internal sealed partial class Session
{
    /// <summary>The longest a timer is armed for; a later due time re-arms when it fires (timers of the default scheduler stop at 49.7 days).</summary>
    private static readonly long MaxTimerTicks = TimeSpan.FromDays(1).Ticks;

    private readonly TimerWork _timerWork;
    private readonly CloseWork _closeWork;
    private readonly ResumeWork _resumeWork;
    private IDisposable? _timer;
    private long _timerDueTicks = long.MaxValue;
    private long _handshakeDueTicks;
    private long _lastHeardTicks;
    private long _nextPingTicks = long.MaxValue;
    private long _nextSweepTicks = long.MaxValue;
    private bool _closed;

    // The handshake: the dialer's hello (sent, or received), the acceptor's challenge (received, or sent), and
    // whether the proof the other side owes is what comes next.
    private HandshakeMessage? _hello;
    private HandshakeChallenge? _challenge;

    /// <summary>The dialer's hello for one attempt, with a fresh nonce.</summary>
    private HandshakeMessage Hello(string to) =>
        _hello = new HandshakeMessage(ProtocolConstants.Version, _grid.Address, to, _grid.Scheduler.Now.ToUnixTimeMilliseconds(),
            _grid.InstanceId, RandomNumberGenerator.GetBytes(HandshakeCodec.NonceBytes), _grid.Options.MaxMessageSize, _grid.Options.MaxCallsInFlight);

    /// <summary>What both proofs of this connection cover, with the prover's role. The acceptor's name is the one the dialer dialed, as the acceptor knows itself.</summary>
    private HandshakeClaims Claims(HandshakeRole role) => new(ProtocolConstants.Version, role, _hello!.From,
        IsDialer ? _hello.To : _grid.Address, _hello.InstanceId, _challenge!.InstanceId, _hello.Nonce, _challenge.Nonce,
        DateTimeOffset.FromUnixTimeMilliseconds(_hello.ClockUnixMs));

    /// <summary>
    /// Loop: the handshake, one frame at a time. Dialer: Connect (hello) out, ConnectResponse (challenge) in, ConnectProof
    /// (its proof) out, ConnectProof (the acceptor's proof) in: open. Acceptor: Connect in, ConnectResponse out,
    /// ConnectProof in, checked (authentication first), ConnectProof out: open. A refusal is ConnectResponse with the Error
    /// flag and a code only; the detail goes to this node's log.
    /// </summary>
    private void Handshake(in Frame frame)
    {
        if (IsDialer)
        {
            DialerHandshake(frame);
        }
        else
        {
            AcceptorHandshake(frame);
        }
    }

    private void DialerHandshake(in Frame frame)
    {
        if (frame.Op == Op.ConnectResponse && (frame.Flags & FrameFlags.Error) != 0)
        {
            var refused = new HandshakeRejectedException($"'{RemoteAddress}' refused the handshake ({Encoding.UTF8.GetString(frame.Payload.Span)}); its log says why.");
            SessionLog.HandshakeRefusedByPeer(_grid.Logs.Session, refused.Message);
            Close(refused);
            return;
        }

        if (_challenge is null)
        {
            Expect(frame, Op.ConnectResponse);
            var version = HandshakeCodec.ReadVersion(frame.Payload);
            if (version != ProtocolConstants.Version)
            {
                RefuseAcceptor("version", $"'{RemoteAddress}' speaks protocol version {version}; this node speaks {ProtocolConstants.Version}");
                return;
            }

            _challenge = HandshakeCodec.DecodeChallenge(frame.Payload);
            PeerTakesTraceContext = ((ProtocolFeatures)frame.Seq & ProtocolFeatures.TraceContext) != 0;
            Send(new Frame(Op.ConnectProof, payload: HandshakeCodec.EncodeProof(_grid.Options.Authenticator.CreateToken(Claims(HandshakeRole.Dialer)))));
            return;
        }

        Expect(frame, Op.ConnectProof);
        var token = HandshakeCodec.DecodeProof(frame.Payload);
        if (!_grid.Options.Authenticator.Validate(Claims(HandshakeRole.Acceptor), token))
        {
            RefuseAcceptor("auth", $"authentication of '{RemoteAddress}' failed (wrong secret, altered handshake, or the node answering at that address is not '{RemoteAddress}')");
            return;
        }

        OpenSession(_challenge.InstanceId, _challenge.MaxMessageSize, _challenge.MaxCallsInFlight);
    }

    private void AcceptorHandshake(in Frame frame)
    {
        if (_hello is null)
        {
            Expect(frame, Op.Connect);
            var version = HandshakeCodec.ReadVersion(frame.Payload);
            if (version != ProtocolConstants.Version)
            {
                RefuseDialer(new Refusal("version", $"protocol version {version} is not supported (this node speaks {ProtocolConstants.Version})"), "?");
                return;
            }

            _hello = HandshakeCodec.Decode(frame.Payload);
            PeerTakesTraceContext = ((ProtocolFeatures)frame.Seq & ProtocolFeatures.TraceContext) != 0;
            _challenge = new HandshakeChallenge(ProtocolConstants.Version, _grid.InstanceId, RandomNumberGenerator.GetBytes(HandshakeCodec.NonceBytes),
                _grid.Options.MaxMessageSize, _grid.Options.MaxCallsInFlight);
            Send(new Frame(Op.ConnectResponse, seq: (uint)ProtocolFeatures.Supported, payload: HandshakeCodec.Encode(_challenge)));
            return;
        }

        Expect(frame, Op.ConnectProof);
        if ((frame.Flags & FrameFlags.Error) != 0)
        {
            OnRefusedByDialer(frame);
            return;
        }

        var token = HandshakeCodec.DecodeProof(frame.Payload);
        if (HandshakeValidator.Check(_grid, _hello, Claims(HandshakeRole.Dialer), token) is { } refusal)
        {
            RefuseDialer(refusal, _hello.From);
            return;
        }

        RemoteAddress = _hello.From;
        OpenSession(_hello.InstanceId, _hello.MaxMessageSize, _hello.MaxCallsInFlight);
    }

    private static void Expect(in Frame frame, Op expected)
    {
        if (frame.Op != expected)
        {
            throw new ProtocolException($"Expected {expected} in the handshake, got {frame.Op}.");
        }
    }

    /// <summary>Acceptor: tells the dialer only the code, serves nothing more, and lets the dialer (or the handshake timeout) close the link.</summary>
    private void RefuseDialer(Refusal refusal, string from)
    {
        LogRefusal(from, refusal);
        Volatile.Write(ref _state, Rejected);
        Send(new Frame(Op.ConnectResponse, flags: FrameFlags.Error, payload: Encoding.UTF8.GetBytes(refusal.ForPeer)));
    }

    /// <summary>Dialer: the acceptor failed; tell it the code (so its log explains too) and end the attempt.</summary>
    private void RefuseAcceptor(string code, string detail)
    {
        LogRefusal(RemoteAddress ?? "?", new Refusal(code, "refused the answer: " + detail));
        Send(new Frame(Op.ConnectProof, flags: FrameFlags.Error, payload: Encoding.UTF8.GetBytes("refused: " + code)));
        Close(new HandshakeRejectedException($"Refused the answer of '{RemoteAddress}': {detail}."), orderly: true);
    }

    /// <summary>Acceptor: the dialer refused this node (its challenge or its proof); its own log says why.</summary>
    private void OnRefusedByDialer(in Frame frame)
    {
        var refused = new HandshakeRejectedException($"'{RemoteAddress ?? _hello?.From ?? "?"}' refused this node's handshake ({Encoding.UTF8.GetString(frame.Payload.Span)}); its log says why.");
        SessionLog.HandshakeRefusedByPeer(_grid.Logs.Session, refused.Message);
        Close(refused);
    }

    /// <summary>
    /// Acceptor: what must go out before any frame a caller may queue once the session is visible: its proof. Called
    /// by the connection while it attaches the session, before it publishes it.
    /// </summary>
    public void SendOpening()
    {
        if (!IsDialer)
        {
            Send(new Frame(Op.ConnectProof, payload: HandshakeCodec.EncodeProof(_grid.Options.Authenticator.CreateToken(Claims(HandshakeRole.Acceptor)))));
        }
    }

    /// <summary>Loop: the peer proved itself; the session opens, unless its connection refuses it (a live session from the same instance).</summary>
    private void OpenSession(ulong remoteInstanceId, int peerMaxMessageSize, int peerMaxCalls)
    {
        RemoteInstanceId = remoteInstanceId;
        if (peerMaxMessageSize > 0)
        {
            PeerMaxPayload = GridContext.PayloadLimit(peerMaxMessageSize);
        }

        if (peerMaxCalls > 0)
        {
            PeerMaxCalls = peerMaxCalls;
        }

        if (Interlocked.CompareExchange(ref _state, Open, Handshaking) != Handshaking)
        {
            return;
        }

        var now = _grid.Scheduler.Now.UtcTicks;
        Volatile.Write(ref _lastHeardTicks, now);
        if (_owner.OnOpened(this) is { } refusal)
        {
            if (IsDialer)
            {
                Close(new DisconnectedException(refusal.Detail));
            }
            else
            {
                RefuseDialer(refusal, RemoteAddress!);
            }

            return;
        }

        _link.Admit();
        _nextPingTicks = DeadlineHeap.DueAt(now, _grid.Options.PingInterval);
        _nextSweepTicks = DeadlineHeap.DueAt(now, _grid.Options.StreamPingInterval);
        ArmTimer();
        ConnectionLog.Connected(_grid.Logs.Connection, _grid.Address, RemoteAddress!, _link.Description);
        _grid.Refusals.Forget(RemoteAddress + "\n");
    }

    /// <summary>When anything was last heard from the peer, in scheduler ticks; any thread.</summary>
    public long LastHeardTicks => Volatile.Read(ref _lastHeardTicks);

    /// <summary>A refused handshake: Warning the first time for this peer and reason, Debug while it repeats, counted always.</summary>
    private void LogRefusal(string peer, Refusal refusal)
    {
        var refusals = _grid.Metrics.HandshakeRefusals;
        if (refusals.Enabled)
        {
            refusals.Add(1, new KeyValuePair<string, object?>("grid.refusal.reason", refusal.Code));
        }

        // A dialer's refusal of the answer ends the dial, which its connection tells once (PeerUnreachable).
        if (!IsDialer && _grid.Refusals.IsFirst(peer + "\n" + refusal.Code))
        {
            SessionLog.HandshakeRefused(_grid.Logs.Session, peer, _link.Description, refusal.Code, refusal.Detail);
        }
        else
        {
            SessionLog.HandshakeRefusedAgain(_grid.Logs.Session, peer, _link.Description, refusal.Code, refusal.Detail);
        }
    }

    /// <summary>Loop: sets the one timer for the earliest thing due, unless one is set already for that or sooner.</summary>
    private void ArmTimer()
    {
        var due = _state switch
        {
            Open => Math.Min(_deadlines.NextDueTicks, Math.Min(_nextPingTicks, Math.Min(_nextSweepTicks, LivenessDueTicks))),
            Closed => long.MaxValue,
            _ => _handshakeDueTicks,
        };
        if (due == long.MaxValue || (_timer is not null && _timerDueTicks <= due))
        {
            return;
        }

        _timer?.Dispose();
        _timerDueTicks = due;
        var delay = Math.Clamp(due - _grid.Scheduler.Now.UtcTicks, 0, MaxTimerTicks);
        _timer = _grid.Scheduler.Schedule(this, TimeSpan.FromTicks(delay), static (_, self) =>
        {
            self._loop.Post(self._timerWork);
            return Disposable.Empty;
        });
    }

    private long LivenessDueTicks => DeadlineHeap.DueAt(_lastHeardTicks, _grid.Options.PingTimeout);

    /// <summary>Loop: whatever is due now: deadlines, the handshake timeout, a ping, a silent peer, a stream sweep.</summary>
    private void OnTimer()
    {
        _timer?.Dispose();
        _timer = null;
        _timerDueTicks = long.MaxValue;
        var now = _grid.Scheduler.Now.UtcTicks;
        switch (_state)
        {
            case Closed:
                return;
            case Handshaking or Rejected:
                if (now >= _handshakeDueTicks)
                {
                    Close(new HandshakeRejectedException($"No handshake on {_link.Description} within {_grid.Options.HandshakeTimeout}."));
                    return;
                }

                break;
            default:
                if (now >= LivenessDueTicks)
                {
                    var silence = TimeSpan.FromTicks(now - _lastHeardTicks);
                    Close(new DisconnectedException(string.Create(CultureInfo.InvariantCulture,
                        $"No pong or other frame from '{RemoteAddress}' for {silence} (PingTimeout {_grid.Options.PingTimeout}); the connection from '{_grid.Address}' is considered dead.")));
                    return;
                }

                while (_deadlines.TryTakeDue(now, out var call))
                {
                    call.OnDeadline();
                }

                if (now >= _nextPingTicks)
                {
                    _nextPingTicks = DeadlineHeap.DueAt(now, _grid.Options.PingInterval);
                    Send(new Frame(Op.Ping));
                }

                if (now >= _nextSweepTicks)
                {
                    _nextSweepTicks = DeadlineHeap.DueAt(now, _grid.Options.StreamPingInterval);
                    Streams.Sweep();
                }

                break;
        }

        ArmTimer();
    }

    /// <summary>Loop: output is over budget; the handler waits until the writer has brought it back under half.</summary>
    private void Park(IncomingRequest request)
    {
        if (_parked.Count == 0)
        {
            SessionLog.OutputOverBudget(_grid.Logs.Session, _out.QueuedBytes, RemoteAddress, _grid.Options.MaxQueuedBytes);
            _out.WatchDrain(_grid.Options.MaxQueuedBytes / 2, () => _loop.Post(_resumeWork));
        }

        _parked.Enqueue(request);
    }

    /// <summary>Loop: the output drained: start the handlers held back, in order, while it stays under budget.</summary>
    private void ResumeParked()
    {
        while (_parked.Count > 0 && _state == Open)
        {
            if (OverBudget)
            {
                _out.WatchDrain(_grid.Options.MaxQueuedBytes / 2, () => _loop.Post(_resumeWork));
                return;
            }

            var request = _parked.Dequeue();
            if (_incoming.TryGetValue(request.MuxId, out var current) && ReferenceEquals(current, request))
            {
                _grid.Dispatcher.Dispatch(request);
            }
        }
    }

    /// <summary>Loop: the end. Closes the link, fails every call and stream, and tells the owner.</summary>
    private void CloseOnLoop()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        var reason = Volatile.Read(ref _closeReason)!;
        _timer?.Dispose();
        _timer = null;
        _link.Close(_closeOrderly ? null : reason);
        var lost = reason as DisconnectedException
            ?? new DisconnectedException($"The connection {_grid.Address} <-> {RemoteAddress ?? "?"} was lost: {reason.Message}", reason);
        _deadlines.Drain();
        foreach (var request in _outgoing.Values)
        {
            request.Fail(lost);
        }

        _outgoing.Clear();
        foreach (var request in _incoming.Values)
        {
            request.Cancel();
        }

        _incoming.Clear();
        _parked.Clear();
        Streams.CloseAll(lost);
        _owner.OnClosed(this, reason);
    }

    private sealed class TimerWork(Session session) : ILoopWork
    {
        public void RunOnLoop() => session.OnTimer();
    }

    private sealed class CloseWork(Session session) : ILoopWork
    {
        public void RunOnLoop() => session.CloseOnLoop();
    }

    private sealed class ResumeWork(Session session) : ILoopWork
    {
        public void RunOnLoop() => session.ResumeParked();
    }
}
