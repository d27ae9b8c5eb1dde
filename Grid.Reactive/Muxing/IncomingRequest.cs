using System.Text;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Muxing;

/// <summary>
/// The serving side of one single request: runs the handler off the reader context, with a cancellation token
/// that fires on the caller's cancel, the deadline or the session closing, and sends back the answer unless the
/// call was ended first. As with outgoing calls, removal from the session's table decides who ends it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The source never has a timer or a linked token, so there is nothing to release.")]
internal sealed class IncomingRequest : TimedCall, IThreadPoolWorkItem
{
    private readonly Session _session;
    private readonly RequestHandler _handler;
    private readonly byte[] _payload;
    private readonly CancellationTokenSource _cancellation = new();

    public IncomingRequest(Session session, ulong muxId, RequestHandler handler, byte[] payload)
    {
        _session = session;
        MuxId = muxId;
        _handler = handler;
        _payload = payload;
    }

    public ulong MuxId { get; }

    public void Start(TimeSpan deadline)
    {
        _session.Deadlines.Add(this, deadline);
        _session.Dispatcher.Dispatch(this);
    }

    /// <summary>Runs the handler (dispatched off the reader context).</summary>
    public void Execute()
    {
        ValueTask<byte[]> pending;
        try
        {
            pending = _handler(_payload, _cancellation.Token);
        }
#pragma warning disable CA1031 // Any failure of user code becomes the caller's RemoteException.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Finish(null, ex);
            return;
        }

        if (pending.IsCompletedSuccessfully)
        {
            Finish(pending.Result, null);
        }
        else
        {
            _ = AwaitAsync(pending);
        }
    }

    /// <summary>The call ended before the handler answered (the session already took it out of its table).</summary>
    public void Cancel()
    {
        _session.Deadlines.Remove(this);

        // Cancellation callbacks are user code: run them off the reader context too.
        _session.Dispatcher.Dispatch(static cts => cts.Cancel(), _cancellation);
    }

    /// <summary>The deadline passed before the handler answered: its token fires; the caller times out on its own.</summary>
    public override void OnDeadline()
    {
        if (_session.TryRemove(this))
        {
            Cancel();
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

        // A call already ended (cancelled, timed out, lost) has nothing left to do: don't touch the scheduler for it.
        if (_session.IsPending(this))
        {
            _session.Dispatcher.Resume(static s => s.Call.Finish(s.Result, s.Error), (Call: this, Result: result, Error: error));
        }
    }

    private void Finish(byte[]? result, Exception? error)
    {
        if (!_session.TryRemove(this))
        {
            return;
        }

        _session.Deadlines.Remove(this);
        if (error is not null)
        {
            _session.Send(new Frame(Op.Response, MuxId, flags: FrameFlags.Error, payload: Encoding.UTF8.GetBytes(error.Message)));
            return;
        }

        result ??= [];
        _session.Send(new Frame(Op.Response, MuxId, flags: result.Length == 0 ? FrameFlags.Empty : FrameFlags.None, payload: result));
    }
}
