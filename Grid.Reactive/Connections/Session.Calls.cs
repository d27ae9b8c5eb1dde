using System.Buffers;
using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Subjects;
using System.Text;
using Grid.Reactive.Muxing;
using Grid.Reactive.Muxing.Streams;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;
using Grid.Reactive.Diagnostics;
using Grid.Reactive.Diagnostics.Logging;

namespace Grid.Reactive.Connections;

/// <summary>The session's call tables: starting, answering and forgetting calls both ways, and taking a peer's request in.</summary>
internal sealed partial class Session
{
    /// <summary>Loop: takes a new call into the table, or says why it cannot go out.</summary>
    public Exception? TryStart(OutgoingRequest request, int payloadLength)
    {
        if (_state != Open)
        {
            return new DisconnectedException($"Not connected to '{RemoteAddress}'.");
        }

        if (_grid.Stopping)
        {
            return new DisconnectedException($"'{_grid.Address}' is shutting down and starts no new calls.");
        }

        if (_peerGoingAway)
        {
            return new DisconnectedException($"'{RemoteAddress}' is shutting down and takes no new calls.");
        }

        if (payloadLength > PeerMaxPayload)
        {
            return new MessageTooLargeException(string.Create(CultureInfo.InvariantCulture,
                $"A request of {payloadLength} bytes is larger than the {PeerMaxPayload} bytes '{RemoteAddress}' accepts (its MaxMessageSize less frame overhead)."));
        }

        if (_outgoing.Count >= PeerMaxCalls)
        {
            return new BusyException(string.Create(CultureInfo.InvariantCulture,
                $"'{RemoteAddress}' already has {_outgoing.Count} calls in flight from '{_grid.Address}', the most it serves at once (its MaxCallsInFlight)."));
        }

        if (_out.QueuedBytes > _grid.Options.MaxQueuedBytes)
        {
            return new BusyException(string.Create(CultureInfo.InvariantCulture,
                $"{_out.QueuedBytes} bytes are queued to '{RemoteAddress}', over the {_grid.Options.MaxQueuedBytes} bytes of MaxQueuedBytes: the peer reads slower than this node sends."));
        }

        var muxId = NextMuxId();
        request.Registered(muxId);
        _outgoing.Add(muxId, request);
        TrackDeadline(request, request.Timeout);
        return null;
    }

    /// <summary>Loop: takes an outgoing call out of the table and its deadline; true for the one caller that may end it.</summary>
    public bool TryForget(OutgoingRequest request)
    {
        if (!_outgoing.TryGetValue(request.MuxId, out var current) || !ReferenceEquals(current, request))
        {
            return false;
        }

        _outgoing.Remove(request.MuxId);
        _deadlines.Remove(request);
        return true;
    }

    /// <summary>Loop: takes an incoming call out of the table and its deadline; true for the one caller that may end it.</summary>
    public bool TryForget(IncomingRequest request)
    {
        if (!_incoming.TryGetValue(request.MuxId, out var current) || !ReferenceEquals(current, request))
        {
            return false;
        }

        _incoming.Remove(request.MuxId);
        _deadlines.Remove(request);
        return true;
    }

    /// <summary>Loop: a handler answered; sends it unless the call ended first.</summary>
    public void Answer(IncomingRequest request, byte[]? result, Exception? error)
    {
        if (!TryForget(request))
        {
            return;
        }

        if (error is not null)
        {
            // The message, the error code and the exception's type name; never its stack trace.
            Send(new Frame(Op.Response, request.MuxId, (uint)ErrorCode.Remote, flags: FrameFlags.Error,
                payload: RemoteErrorPayload.Encode(error, PeerMaxPayload)));
            return;
        }

        result ??= [];
        if (result.Length > PeerMaxPayload)
        {
            var text = string.Create(CultureInfo.InvariantCulture,
                $"The answer of {result.Length} bytes is larger than the {PeerMaxPayload} bytes '{RemoteAddress}' accepts (its MaxMessageSize less frame overhead).");
            SessionLog.AnswerTooLarge(_grid.Logs.Session, RemoteAddress, text);
            SendError(request.MuxId, ErrorCode.TooLarge, text);
            return;
        }

        Send(new Frame(Op.Response, request.MuxId, flags: result.Length == 0 ? FrameFlags.Empty : FrameFlags.None, payload: result));
    }

    private void SendError(ulong muxId, ErrorCode code, string text) =>
        Send(new Frame(Op.Response, muxId, (uint)code, flags: FrameFlags.Error, payload: Encoding.UTF8.GetBytes(text)));

    private void TrackDeadline(TimedCall call, TimeSpan timeout)
    {
        var due = DeadlineHeap.DueAt(_grid.Scheduler.Now.UtcTicks, timeout);
        _deadlines.Add(call, due);
        if (due < _timerDueTicks)
        {
            ArmTimer();
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

        if (_grid.Stopping)
        {
            SendError(frame.MuxId, ErrorCode.GoingAway, $"'{_grid.Address}' is shutting down and takes no new calls.");
            return;
        }

        if (_incoming.Count >= _grid.Options.MaxCallsInFlight)
        {
            throw new ProtocolException(string.Create(CultureInfo.InvariantCulture,
                $"'{RemoteAddress}' sent call {frame.MuxId} with {_incoming.Count} already in flight, beyond the MaxCallsInFlight of {_grid.Options.MaxCallsInFlight} it was told."));
        }

        if (_incoming.ContainsKey(frame.MuxId))
        {
            throw new ProtocolException($"Request mux id {frame.MuxId} is already in use.");
        }

        // From here the call is in the table, and the table's every way out ends its telemetry.
        var telemetry = ServerCallTelemetry.TryStart(_grid, this, frame, "request");
        var payload = frame.Payload.IsEmpty ? [] : frame.Payload.ToArray();
        var request = new IncomingRequest(this, frame.MuxId, telemetry is null ? handler : telemetry.Wrap(handler), payload, telemetry);
        _incoming.Add(frame.MuxId, request);

        TrackDeadline(request, frame.DeadlineMs == 0 ? _grid.Options.DefaultRequestTimeout : TimeSpan.FromMilliseconds(frame.DeadlineMs));
        if (_parked.Count > 0 || OverBudget)
        {
            Park(request);
            return;
        }

        _grid.Dispatcher.Dispatch(request);
    }

    /// <summary>
    /// Loop: over the output budget, new handlers wait for the peer to read. Only queued output counts, never handlers
    /// still running (a long-polling handler must not hold others back): so at worst a burst of calls that arrive
    /// before any answer is queued runs up to <see cref="ManagerOptions.MaxCallsInFlight"/> handlers.
    /// </summary>
    private bool OverBudget => _out.QueuedBytes > _grid.Options.MaxQueuedBytes;
}
