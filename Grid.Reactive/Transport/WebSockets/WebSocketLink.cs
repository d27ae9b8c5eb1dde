using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Transport;

/// <summary>
/// A link over one <see cref="WebSocket"/>, the same for the dialing and the accepting side. Each transport message is
/// one binary WebSocket message.
/// </summary>
/// <remarks>
/// <para>
/// Reader: one loop, started by <see cref="Start"/>, receives into a pooled buffer that doubles up to the largest message
/// size and delivers each whole message to the handler. Between messages it waits with a zero-byte receive, and gives
/// its buffer back to the pool when that wait does not complete at once: an idle link holds no receive buffer (nor a
/// send buffer: the writer gives its own back whenever it runs dry).
/// Writer: a pass on the thread pool, at most one at a time (a <see cref="FlushGate"/>), pulls messages from the handler
/// and sends each; it continues after an asynchronous send through a cached continuation, so a flush allocates nothing.
/// No lock is taken per message.
/// </para>
/// <para>
/// Closing: the first of <see cref="Close"/>, the peer's close frame or an error wins and gives the handler's one
/// <c>OnClosed</c>, which never overlaps an <c>OnMessage</c>. The close frame is sent from the writer context (after a
/// send in progress, never concurrently with it). An orderly close completes the WebSocket handshake: the reader keeps
/// reading, discarding, until the peer's close frame. A close with an error does not wait: the close frame goes out
/// only if the socket takes it at once, then the socket is aborted.
/// </para>
/// </remarks>
#pragma warning disable CA1001 // _output belongs to the writer context and is disposed by ShutdownAsync, which runs exactly once.
internal sealed partial class WebSocketLink : ILink, IThreadPoolWorkItem
#pragma warning restore CA1001
{
    /// <summary>What <see cref="_closed"/> holds after an orderly close.</summary>
    private static readonly object Orderly = new();

    /// <summary>
    /// How long a link closed by an error waits for a send in progress and then its close frame to reach the socket,
    /// each, before aborting the socket: the peer learns why, and a peer that does not read holds nothing for longer.
    /// </summary>
    private static readonly TimeSpan ErrorCloseBound = TimeSpan.FromSeconds(1);

    /// <summary>After a message larger than this, the receive buffer goes back to its initial size.</summary>
    private const int ShrinkAbove = 1024 * 1024;

    private readonly WebSocket _socket;
    private readonly int _maxMessageSize;
    private readonly int _receiveBufferSize;
    private readonly FlushGate _flush = new();
    private readonly PooledBufferWriter _output = new();
    private readonly Action _onSendCompleted;
    private readonly TaskCompletionSource _shutdownDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ILinkHandler? _handler;
    private object? _closed;
    private int _readerStarted;
    private int _admitted;
    private int _inDelivery;
    private int _closeNotified;
    private ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter _pendingSend;

    /// <param name="socket">An open WebSocket; the link owns and disposes it.</param>
    /// <param name="maxMessageSize">Largest message accepted, in bytes.</param>
    /// <param name="receiveBufferSize">Initial receive buffer size, in bytes.</param>
    /// <param name="description">For logs, e.g. "ws 127.0.0.1:7001 -> 127.0.0.1:7002".</param>
    /// <param name="admitted">
    /// True for a link this node dialed (it chose the peer); false for an accepted one, which takes only small
    /// messages until <see cref="Admit"/>.
    /// </param>
    /// <param name="channelBinding">The TLS channel binding as this side saw it (see <see cref="ILink.ChannelBinding"/>); empty for none.</param>
    /// <param name="peerCertificateNames">What the peer's client certificate names (see <see cref="ILink.PeerCertificateNames"/>); null when not checked.</param>
    public WebSocketLink(WebSocket socket, int maxMessageSize, int receiveBufferSize, string description, bool admitted,
        ReadOnlyMemory<byte> channelBinding = default, IReadOnlyList<string>? peerCertificateNames = null)
    {
        ChannelBinding = channelBinding;
        PeerCertificateNames = peerCertificateNames;
        _admitted = admitted ? 1 : 0;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessageSize);
        _socket = socket;
        _maxMessageSize = maxMessageSize;
        _receiveBufferSize = Math.Max(256, receiveBufferSize);
        _onSendCompleted = OnSendCompleted;
        Description = description;
    }

    public string Description { get; }

    public ReadOnlyMemory<byte> ChannelBinding { get; }

    public IReadOnlyList<string>? PeerCertificateNames { get; }


    /// <summary>Completes when the link is over and its socket disposed (the accepting side keeps its request open until then).</summary>
    public Task Completion => _completion.Task;

    /// <inheritdoc/>
    public Task Ended => _completion.Task;

    public void Start(ILinkHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException($"{Description} is already started.");
        }

        if (Volatile.Read(ref _closed) is not null)
        {
            QueueCloseNotification();
        }

        EnsureReaderStarted();

        // A flush requested before Start found no handler; ask once now so it is not lost.
        RequestFlush();
    }

    public void RequestFlush()
    {
        if (Volatile.Read(ref _closed) is null && _flush.TryBegin())
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    public void Close(Exception? reason) => TryClose(reason);

    /// <summary>
    /// Closes the link with <paramref name="reason"/> if it is still open, and aborts the socket in any case, even if an
    /// orderly close is still waiting for the peer's close frame. Used when the server stops.
    /// </summary>
    public void Abort(Exception reason)
    {
        TryClose(reason);
        AbortSocket();
    }

    void IThreadPoolWorkItem.Execute() => Pump(resumed: false);

    private bool TryClose(Exception? reason)
    {
        if (Interlocked.CompareExchange(ref _closed, reason ?? Orderly, null) is not null)
        {
            return false;
        }

        if (Volatile.Read(ref _handler) is not null)
        {
            QueueCloseNotification();
        }

        if (_flush.TryBegin())
        {
            // The writer is idle and now ours for good. An orderly close first writes what is still queued (a last
            // pass, which then sends the close frame); an error close sends the close frame at once.
            if (reason is null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            else
            {
                _ = ShutdownAsync();
            }
        }
        else if (reason is not null)
        {
            // The running pass sends the close frame after its current send, so the peer learns why; but it may be
            // stuck in a send to a peer that does not read, and an error close waits for it only so long.
            _ = AbortUnlessShutDownAsync();
        }

        // Otherwise the running pass sees the close after its current send and shuts down.
        EnsureReaderStarted();
        return true;
    }

    private void EnsureReaderStarted()
    {
        if (Interlocked.Exchange(ref _readerStarted, 1) == 0)
        {
            _ = Task.Run(ReadLoopAsync);
        }
    }

    private void QueueCloseNotification() =>
        ThreadPool.UnsafeQueueUserWorkItem(static link => link.TryNotifyClosed(), this, preferLocal: false);

    /// <summary>Calls OnClosed once, unless the reader is inside OnMessage: it then calls this again when it returns.</summary>
    private void TryNotifyClosed()
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is null || Volatile.Read(ref _inDelivery) != 0 || Interlocked.Exchange(ref _closeNotified, 1) != 0)
        {
            return;
        }

        handler.OnClosed(Volatile.Read(ref _closed) as Exception);
    }

    private void OnSendCompleted() => Pump(resumed: true);

    /// <summary>The writer pass: runs until the handler has nothing to write, pausing (not blocking) on slow sends.</summary>
    private void Pump(bool resumed)
    {
        try
        {
            if (resumed)
            {
                var send = _pendingSend;
                _pendingSend = default;
                send.GetResult();
            }

            while (true)
            {
                // After an orderly close the pass still writes everything queued (a goodbye, answers already made).
                var handler = Volatile.Read(ref _handler);
                while (handler is not null && (Volatile.Read(ref _closed) is null || ReferenceEquals(Volatile.Read(ref _closed), Orderly)))
                {
                    _output.Clear();
                    if (!handler.TryWriteMessage(_output))
                    {
                        break;
                    }

#pragma warning disable CA2012 // The ValueTask is consumed exactly once: GetResult here, or in OnSendCompleted after it completes.
                    var send = _socket.SendAsync(_output.WrittenMemory, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None)
                        .ConfigureAwait(false).GetAwaiter();
#pragma warning restore CA2012
                    if (!send.IsCompleted)
                    {
                        _pendingSend = send;
                        send.UnsafeOnCompleted(_onSendCompleted);
                        return;
                    }

                    send.GetResult();
                }

                if (Volatile.Read(ref _closed) is not null)
                {
                    break;
                }

                // Run dry: the send buffer goes back to the pool while the writer context is still ours.
                _output.Release();
                if (_flush.TryEnd())
                {
                    return;
                }
            }
        }
#pragma warning disable CA1031 // Any failure of the handler or the socket ends the link with that error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            TryClose(ex);
        }

        // Closed: this pass keeps the writer context for good and sends the close frame.
        _ = ShutdownAsync();
    }

    /// <summary>Sends the close frame; run once, by whoever holds the writer context after the close.</summary>
    private async Task ShutdownAsync()
    {
        var reason = Volatile.Read(ref _closed) as Exception;
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                var (status, description) = WebSocketCloseReason.For(reason);
                var close = _socket.CloseOutputAsync(status, description, CancellationToken.None);
                if (reason is null)
                {
                    await close.ConfigureAwait(false);
                }
                else
                {
                    // Observed however it ends: a close frame that fails (at once, or after the abort below) must not
                    // end up as an unobserved task exception.
                    _ = close.ContinueWith(static t => t.Exception, CancellationToken.None,
                        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

                    // The peer learns why (the close frame reaches the socket, normally at once) before the abort, but a
                    // peer that does not read is not waited for beyond the bound (a timeout aborts, below).
                    await close.WaitAsync(ErrorCloseBound).ConfigureAwait(false);
                }
            }

            if (reason is not null)
            {
                AbortSocket();
            }
        }
#pragma warning disable CA1031 // The link is closing anyway: a socket that cannot send its close frame is aborted.
        catch (Exception)
#pragma warning restore CA1031
        {
            AbortSocket();
        }
        finally
        {
            _output.Dispose();
            _shutdownDone.TrySetResult();
        }
    }

    /// <summary>Aborts the socket unless the close frame went out (or failed) within <see cref="ErrorCloseBound"/>.</summary>
    private async Task AbortUnlessShutDownAsync()
    {
        try
        {
            await _shutdownDone.Task.WaitAsync(ErrorCloseBound).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            AbortSocket();
        }
    }

    private void AbortSocket()
    {
        try
        {
            _socket.Abort();
        }
#pragma warning disable CA1031 // Aborting is the last resort; there is nothing left to do if it fails.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>
    /// The handshake succeeded: messages up to the full limit are accepted from now on. Before it, a peer that has not
    /// proven itself gets <see cref="LinkSettings.UnauthenticatedMaxMessageSize"/> and a buffer no larger.
    /// </summary>
    public void Admit() => Volatile.Write(ref _admitted, 1);
}
