using System.Globalization;
using System.Reactive.Disposables;
using System.Security.Cryptography;
using System.Text;
using Grid.Reactive.Diagnostics.Logging;
using Grid.Reactive.Muxing;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Connections;

/// <summary>The session's handshake: hello, challenge and the two proofs, refusals told by code only, and the opening.</summary>
internal sealed partial class Session
{
    // The handshake: the dialer's hello (sent, or received), the acceptor's challenge (received, or sent), and
    // whether the proof the other side owes is what comes next.
    private HandshakeMessage? _hello;
    private HandshakeChallenge? _challenge;

    /// <summary>The dialer's hello for one attempt, with a fresh nonce.</summary>
    private HandshakeMessage Hello(string to) =>
        _hello = new HandshakeMessage(ProtocolConstants.Version, _grid.Address, to, _grid.Scheduler.Now.ToUnixTimeMilliseconds(),
            _grid.InstanceId, RandomNumberGenerator.GetBytes(HandshakeCodec.NonceBytes), _grid.Options.MaxMessageSize, _grid.Options.MaxCallsInFlight);

    /// <summary>
    /// What both proofs of this connection cover, with the prover's role. The acceptor's name is the one the dialer
    /// dialed, as the acceptor knows itself; the channel binding is the link's, as this side saw the TLS channel.
    /// </summary>
    private HandshakeClaims Claims(HandshakeRole role) => new(ProtocolConstants.Version, role, _hello!.From,
        IsDialer ? _hello.To : _grid.Address, _hello.InstanceId, _challenge!.InstanceId, _hello.Nonce, _challenge.Nonce,
        DateTimeOffset.FromUnixTimeMilliseconds(_hello.ClockUnixMs)) { ChannelBinding = _link.ChannelBinding };

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
        if (HandshakeValidator.Check(_grid, _hello, Claims(HandshakeRole.Dialer), token, _link.PeerCertificateNames) is { } refusal)
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
}
