using Grid.Reactive.Connections;
using Grid.Reactive.Diagnostics;

namespace Grid.Reactive.Muxing;

/// <summary>
/// The serving side of one single request: runs the handler off the loop, with a cancellation token that fires on
/// the caller's cancel, the deadline or the session closing, and sends back the answer unless the call was ended
/// first. Its protocol state is touched only on the session's loop, which decides the ending.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The source never has a timer or a linked token, so there is nothing to release.")]
internal sealed class IncomingRequest : TimedCall, IThreadPoolWorkItem, ILoopWork
{
    private readonly Session _session;
    private readonly Handlers.RequestRegistration _handler;
    private readonly byte[] _payload;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly ServerCallTelemetry? _telemetry;
    private byte[]? _result;
    private Exception? _error;
    private volatile bool _answered;

    /// <param name="session">The session it came on.</param>
    /// <param name="muxId">The caller's id of the call.</param>
    /// <param name="handler">The handler (wrapped by <paramref name="telemetry"/>, when there is one).</param>
    /// <param name="payload">The request.</param>
    /// <param name="telemetry">The call's server telemetry, or null: told when the call ends before its handler answered.</param>
    public IncomingRequest(Session session, ulong muxId, Handlers.RequestRegistration handler, byte[] payload, ServerCallTelemetry? telemetry = null)
    {
        _session = session;
        MuxId = muxId;
        _handler = handler;
        _payload = payload;
        _telemetry = telemetry;
    }

    public ulong MuxId { get; }

    /// <summary>Runs the handler (dispatched off the loop; on a dedicated thread when the pool already holds enough handlers).</summary>
    public void Execute()
    {
        var dispatcher = _session.Dispatcher;
        if (!HandlerThreads.TryEnter(dispatcher, this))
        {
            return;
        }

        ValueTask<byte[]> pending;
        try
        {
            // The context is built only for a handler that takes one: the plain shape allocates nothing more.
            pending = _handler.TakesContext
                ? _handler.Invoke(new RequestContext(_session.RemoteAddress ?? "?", _handler.Id, _handler.Subroute, DueTicks, _session.Scheduler, _cancellation.Token), _payload)
                : _handler.Invoke(_payload, _cancellation.Token);
        }
#pragma warning disable CA1031 // Any failure of user code becomes the caller's RemoteException.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            HandlerThreads.Exit(dispatcher);
            Answer(null, ex, resumed: false);
            return;
        }

        HandlerThreads.Exit(dispatcher);

        if (pending.IsCompletedSuccessfully)
        {
            Answer(pending.Result, null, resumed: false);
        }
        else
        {
            _ = AwaitAsync(pending);
        }
    }

    /// <summary>
    /// Loop: the call ended before the handler answered (the session already took it out of its table); the handler
    /// may be running, or not started yet (held back while the output is over budget, or not yet dispatched).
    /// <paramref name="reason"/> is what ended it (the first one told wins); null when the caller cancelled.
    /// </summary>
    /// <remarks>Registrations on the handler's token are user code: they run through the guarded hop.</remarks>
    public void Cancel(Exception? reason = null)
    {
        _telemetry?.EndedBy(reason ?? new OperationCanceledException("The caller cancelled the call."));
        _session.User.Post(static cts => cts.Cancel(), _cancellation);
    }

    /// <summary>Loop: the deadline passed before the handler answered: its token fires; the caller times out on its own.</summary>
    public override void OnDeadline()
    {
        if (_session.TryForget(this))
        {
            _telemetry?.EndedBy(new DeadlineExceededException("The call passed its deadline before its handler answered."));
            Cancel();
        }
    }

    /// <summary>Loop: sends the handler's answer, unless the call ended first.</summary>
    void ILoopWork.RunOnLoop()
    {
        if (_answered)
        {
            _session.Answer(this, _result, _error);
        }
    }

    private async Task AwaitAsync(ValueTask<byte[]> pending)
    {
        byte[]? result = null;
        Exception? error = null;
        try
        {
            result = await pending.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any failure of user code becomes the caller's RemoteException.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = ex;
        }

        Answer(result, error, resumed: true);
    }

    // A handler that answered at once is still on the dispatcher's context; one that resumed may be anywhere.
    private void Answer(byte[]? result, Exception? error, bool resumed)
    {
        _result = result;
        _error = error;
        _answered = true;
        if (resumed)
        {
            _session.Resume(this);
        }
        else
        {
            _session.Post(this);
        }
    }
}
