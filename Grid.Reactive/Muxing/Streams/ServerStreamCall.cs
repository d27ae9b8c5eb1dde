using System.Text;
using Grid.Reactive.Connections;
using Grid.Reactive.Diagnostics;
using Grid.Reactive.Handlers;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>
/// The serving side of one stream: runs the handler off the reader context, accepts the stream (or passes on the
/// handler's refusal), moves messages through the credit window and inbox, and sends the end. It is in the session's
/// stream table until exactly one of these ends it: the handler's end, the caller's cancel, the deadline, the caller
/// no longer pinging, or the session closing.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The source never has a timer or a linked token, so there is nothing to release.")]
internal sealed class ServerStreamCall : IStreamOutput, IThreadPoolWorkItem
{
    private readonly Session _session;
    private readonly StreamRegistration _registration;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly CreditWindow _window;
    private readonly StreamInbox _inbox;
    private readonly ServerStream _view;
    private readonly ServerCallTelemetry? _telemetry;
    private TimerSlot _deadline;
    private long _lastPingTicks;

    public ServerStreamCall(Session session, in Frame open, StreamRegistration registration, ServerCallTelemetry? telemetry = null)
    {
        _session = session;
        _registration = registration;
        _telemetry = telemetry;
        MuxId = open.MuxId;
        _window = new CreditWindow(registration.Options.PushBufferCapacity, session.MaxPayload, session.Streams.User, session.Grid.Metrics.CreditWaits);
        _inbox = new StreamInbox(session.Streams.User, registration.Options.InCapacity,
            grant: count =>
            {
                if (_session.Streams.Contains(this))
                {
                    _session.Send(new Frame(Op.StreamCreditToClient, MuxId, (uint)count));
                }
            },
            consumerFailed: error => End(error));
        _view = new ServerStream(open.Payload.IsEmpty ? [] : open.Payload.ToArray(), session.RemoteAddress ?? "?", _window, _inbox,
            new HandlerId(open.HandlerId), open.Subroute, session.Scheduler, _cancellation.Token);
        Touch();
    }

    public ulong MuxId { get; }

    public long LastPingTicks => Interlocked.Read(ref _lastPingTicks);

    public void Start(TimeSpan? deadline)
    {
        if (deadline is { } due)
        {
            _view.SetDeadline(DeadlineHeap.DueAt(_session.Scheduler.Now.UtcTicks, due));
            _deadline.Set(StreamDeadline.Start(_session.Scheduler, due, (Call: this, Due: due), static state =>
                state.Call.Cancel(new DeadlineExceededException($"The stream passed its {state.Due.TotalMilliseconds} ms deadline."), notifyCaller: true)));
        }

        _session.Dispatcher.Dispatch(this);
    }

    public void Touch() => Interlocked.Exchange(ref _lastPingTicks, _session.Scheduler.Now.UtcTicks);

    /// <summary>Invokes the handler, then accepts the stream, unless the handler refused it at once.</summary>
    public void Execute()
    {
        Task running;
        try
        {
            running = _registration.Serve(_view, _cancellation.Token);
        }
#pragma warning disable CA1031 // A handler's failure is its caller's error, never the connection's.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            running = Task.FromException(ex);
        }

        // Failing before sending anything refuses the stream; failing after some messages ends it after them.
        if (running.IsFaulted && _window.IsUntouched && _session.Streams.TryRemove(this))
        {
            _deadline.Cancel();
            var error = running.Exception!.InnerException ?? running.Exception;
            _session.Send(new Frame(Op.StreamConnectError, MuxId, flags: FrameFlags.Error, payload: RemoteErrorPayload.Encode(error, _session.PeerMaxPayload)));
            return;
        }

        if (!_session.Streams.Contains(this))
        {
            return;
        }

        // The accept goes out before any message of the handler: the window only starts sending after it.
        var options = _registration.Options;
        _session.Send(new Frame(Op.StreamAck, MuxId, payload: StreamErrors.WriteWindows(options.InCapacity, options.OutCapacity)));
        _window.Attach(this, options.OutCapacity, _session.PeerMaxPayload);
        if (options.InCapacity == 0)
        {
            _inbox.Finish(null);
        }

        running.ContinueWith(static (task, state) =>
            {
                var self = (ServerStreamCall)state!;
                self._session.Dispatcher.Resume(static s => s.Self.OnHandlerEnded(s.Task), (Self: self, Task: task));
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>A frame for this stream arrived (reader context).</summary>
    public void Handle(in Frame frame)
    {
        switch (frame.Op)
        {
            case Op.StreamMessageToServer:
                var violation = _inbox.Accept(frame.Seq, frame.Payload.IsEmpty ? [] : frame.Payload.ToArray());
                if (violation is not null)
                {
                    Cancel(new ProtocolException($"Stream {MuxId} from '{_session.RemoteAddress}': {violation}."), notifyCaller: true);
                }

                break;
            case Op.StreamCreditToServer:
                _window.Grant((int)Math.Min(frame.Seq, int.MaxValue));
                break;
            case Op.StreamCloseToServer when (frame.Flags & FrameFlags.Eof) != 0:
                // A normal end counts the messages sent: ending the input after fewer would hide a loss.
                if (_inbox.CheckEnd(frame.Seq) is { } shortfall)
                {
                    Cancel(new ProtocolException($"Stream {MuxId} from '{_session.RemoteAddress}': {shortfall}."), notifyCaller: true);
                }
                else
                {
                    _inbox.Finish(null);
                }

                break;
            case Op.StreamCloseToServer:
                Cancel((frame.Flags & FrameFlags.Error) != 0
                    ? StreamErrors.FromErrorFrame(frame)
                    : new OperationCanceledException("The caller cancelled the stream."), notifyCaller: false);
                break;
        }
    }

    /// <summary>Ends the stream before the handler did; the handler's token fires. Idempotent.</summary>
    public void Cancel(Exception reason, bool notifyCaller)
    {
        if (!_session.Streams.TryRemove(this))
        {
            return;
        }

        _deadline.Cancel();
        _telemetry?.EndedBy(reason);
        if (notifyCaller)
        {
            _session.Send(new Frame(Op.StreamCloseToClient, MuxId, flags: FrameFlags.Error, payload: Encoding.UTF8.GetBytes(reason.Message)));
        }

        _window.Close(reason);
        _inbox.Abort(reason);
        // The handler's token runs the handler's registrations: user code, through the guarded hop.
        _session.Streams.User.Post(static cts => cts.Cancel(), _cancellation);
    }

    /// <summary>The handler's outgoing observable broke the stream (for example pushed past its buffer).</summary>
    public void End(Exception error) => Cancel(error, notifyCaller: true);

    void IStreamOutput.SendMessage(uint seq, byte[] payload) =>
        _session.Send(new Frame(Op.StreamMessageToClient, MuxId, seq, flags: payload.Length == 0 ? FrameFlags.Empty : FrameFlags.None, payload: payload));

    void IStreamOutput.SendEnd(uint sent, Exception? error)
    {
        if (!_session.Streams.TryRemove(this))
        {
            return;
        }

        _deadline.Cancel();
        _inbox.Abort(new OperationCanceledException("The stream has ended."));
        _session.Send(error is null
            ? new Frame(Op.StreamCloseToClient, MuxId, sent, flags: FrameFlags.Eof)
            : new Frame(Op.StreamCloseToClient, MuxId, sent, flags: FrameFlags.Error, payload: RemoteErrorPayload.Encode(error, _session.PeerMaxPayload)));
    }

    private void OnHandlerEnded(Task task)
    {
        if (task.IsCanceled && _cancellation.IsCancellationRequested)
        {
            return;
        }

        _window.End(task.IsFaulted ? task.Exception!.InnerException ?? task.Exception : task.IsCanceled ? new OperationCanceledException("The handler was cancelled.") : null);
    }
}
