using System.Globalization;
using System.Reactive.Concurrency;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Transport;

/// <summary>
/// One end of an in-memory link. Its inbound queue holds what the peer sent (and the peer's end marker), delivered on
/// the network's scheduler by at most one drain at a time; its writer passes also run on the scheduler (see
/// <c>InMemoryEndpoint.Writer.cs</c>).
/// </summary>
/// <remarks>
/// All mutable state is guarded by the network's lock; the handler is always called outside it. Because the inbound
/// queue is drained by one scheduled item at a time, <see cref="ILinkHandler.OnMessage"/> and
/// <see cref="ILinkHandler.OnClosed"/> never overlap, and OnClosed comes after the last message delivered.
/// Like the WebSocket link, an endpoint refuses a message larger than its own <see cref="LinkSettings.MaxMessageSize"/>:
/// it delivers nothing of it and closes with a <see cref="ProtocolException"/>.
/// </remarks>
internal sealed partial class InMemoryEndpoint : ILink
{
    private readonly InMemoryNetwork _network;
    private readonly FlushGate _flush = new();
    private readonly Queue<InMemoryDelivery> _inbound = new();
    private readonly Action _writePass;
    private readonly int _maxMessageSize;

    private ILinkHandler? _handler;
    private bool _closingOrderly;
    private bool _closed;
    private Exception? _closeError;
    private bool _closeNotified;
    private bool _draining;
    private DateTimeOffset? _drainScheduledAt;
    private long _drainToken;

    /// <summary>Bytes of the messages in <see cref="_inbound"/>: sent by the peer, not yet read here.</summary>
    private long _inboundBytes;

    /// <summary>When this side last finished reading a message; a slow reader starts on the next one no earlier.</summary>
    private DateTimeOffset _readerFreeAt = DateTimeOffset.MinValue;

    public InMemoryEndpoint(InMemoryNetwork network, long id, string local, string remote, bool isDialer, LinkSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(settings.MaxMessageSize);
        _network = network;
        Id = id;
        Local = local;
        Remote = remote;
        IsDialer = isDialer;
        Peer = this;
        _maxMessageSize = settings.MaxMessageSize;
        _writePass = WritePass;
    }

    /// <summary>Creation order within the network: endpoints are visited in this order, never in hash order.</summary>
    public long Id { get; }

    /// <summary>This side's address.</summary>
    public string Local { get; }

    /// <summary>The other side's address.</summary>
    public string Remote { get; }

    /// <summary>True for the endpoint returned by the dial; false for the one handed to the listener.</summary>
    public bool IsDialer { get; }

    /// <summary>The other end of the pair; set once, right after both ends are created.</summary>
    public InMemoryEndpoint Peer { get; set; }

    /// <summary>True once this side is closed (guarded by the network's lock).</summary>
    public bool IsClosedLocked => _closed;

    public string Description => $"mem {Local} -> {Remote}";

    private IScheduler Scheduler => _network.Scheduler;

    public void Start(ILinkHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_network.Gate)
        {
            if (_handler is not null)
            {
                throw new InvalidOperationException($"{Description} is already started.");
            }

            _handler = handler;
            if (_closed || _inbound.Count > 0)
            {
                RequestDrainLocked(Scheduler.Now);
            }
        }

        // A flush requested before Start found no handler; ask once now so it is not lost.
        RequestFlush();
    }

    public void RequestFlush()
    {
        if (_flush.TryBegin())
        {
            Scheduler.Schedule(_writePass);
        }
    }

    public void Close(Exception? reason)
    {
        lock (_network.Gate)
        {
            if (_closed)
            {
                return;
            }

            if (reason is null && _handler is not null)
            {
                // Orderly: the writer first puts everything queued on the wire, then closes (see WritePass).
                _closingOrderly = true;
            }
            else
            {
                CloseNowLocked(reason);
                return;
            }
        }

        RequestFlush();
    }

    /// <summary>Ends this side and sends the peer the end marker, behind whatever was sent before it.</summary>
    private void CloseNowLocked(Exception? reason)
    {
        var peer = Peer;
        if (!peer._closed)
        {
            var peerError = reason is null
                ? null
                : new DisconnectedException($"{Local} closed the link: {reason.Message}");
            peer.EnqueueLocked(new InMemoryDelivery(null, peerError, Scheduler.Now + _network.LatencyLocked(Local, Remote)));
        }

        EndLocked(reason);
    }

    /// <summary>Closes this side at once with <paramref name="error"/>, dropping what is in flight to it (a cut).</summary>
    public void AbortLocked(Exception error)
    {
        if (!_closed)
        {
            EndLocked(error);
        }
    }

    /// <summary>Queues an item sent by the peer and makes sure a drain will deliver it.</summary>
    public void EnqueueLocked(InMemoryDelivery delivery)
    {
        _inbound.Enqueue(delivery);
        _inboundBytes += delivery.Message?.Length ?? 0;
        RequestDrainLocked(_inbound.Peek().Due);
    }

    /// <summary>Makes sure a drain runs no later than <paramref name="at"/> (used when a hold is released).</summary>
    public void RequestDrainLocked(DateTimeOffset at)
    {
        if (_handler is null || _draining || _drainScheduledAt <= at)
        {
            return;
        }

        // A drain scheduled later than needed is superseded: it sees a stale token and does nothing.
        _drainScheduledAt = at;
        var token = ++_drainToken;
        var delay = at - Scheduler.Now;
        Scheduler.Schedule(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, () => Drain(token));
    }

    private void EndLocked(Exception? error)
    {
        _closed = true;
        _closeError = error;
        _inbound.Clear();
        _inboundBytes = 0;
        _network.EndpointClosedLocked(this);
        RequestDrainLocked(Scheduler.Now);
        Peer.WakeWriterLocked();
    }

    /// <summary>
    /// When the head of the inbound queue may be handed over: at its due time, or, for a slow reader, once it has read it
    /// (it reads one item at a time, starting no earlier than the end of the previous one); null while this side does
    /// not read at all.
    /// </summary>
    private DateTimeOffset? ReadyAtLocked(InMemoryDelivery head)
    {
        if (_network.ReaderFaultLocked(Remote, Local) is not { } fault)
        {
            return head.Due;
        }

        if (fault.IsStopped)
        {
            return null;
        }

        var start = head.Due > _readerFreeAt ? head.Due : _readerFreeAt;
        return head.IsEnd ? start : start + InMemoryNetwork.TimeToMove(head.Message!.Length, fault.BytesPerSecond);
    }

    /// <summary>Takes the next message off the inbound queue: the bytes leave the sender's window, which may let it write again.</summary>
    private byte[] TakeMessageLocked()
    {
        var message = _inbound.Dequeue().Message!;
        _inboundBytes -= message.Length;
        _readerFreeAt = Scheduler.Now;
        Peer.WakeWriterLocked();
        return message;
    }

    private void Drain(long token)
    {
        ILinkHandler handler;
        lock (_network.Gate)
        {
            if (token != _drainToken || _handler is null)
            {
                return;
            }

            handler = _handler;
            _drainScheduledAt = null;
            _draining = true;
        }

        while (true)
        {
            byte[]? message = null;
            ProtocolException? oversized = null;
            var notifyClose = false;
            Exception? closeError = null;
            lock (_network.Gate)
            {
                if (_closed)
                {
                    notifyClose = !_closeNotified;
                    _closeNotified = true;
                    closeError = _closeError;
                    _draining = false;
                }
                else if (_inbound.Count == 0 || _network.IsHeldLocked(Remote, Local))
                {
                    _draining = false;
                }
                else if (ReadyAtLocked(_inbound.Peek()) is not { } readyAt)
                {
                    // A stopped reader: what is in flight stays until reading resumes.
                    _draining = false;
                }
                else if (readyAt > Scheduler.Now)
                {
                    _draining = false;
                    RequestDrainLocked(readyAt);
                }
                else if (_inbound.Peek().IsEnd)
                {
                    var end = _inbound.Dequeue();
                    EndLocked(end.PeerError);
                    notifyClose = true;
                    _closeNotified = true;
                    closeError = end.PeerError;
                    _draining = false;
                }
                else if (_inbound.Peek().Message!.Length > _maxMessageSize)
                {
                    // As the WebSocket link: nothing of the message is delivered, and the link closes.
                    var size = TakeMessageLocked().Length;
                    oversized = new ProtocolException(string.Create(CultureInfo.InvariantCulture,
                        $"{Description}: received a message of {size} bytes, larger than the {_maxMessageSize} bytes allowed."));
                }
                else
                {
                    message = TakeMessageLocked();
                }
            }

            if (oversized is not null)
            {
                Close(oversized);
                continue;
            }

            if (message is null)
            {
                if (notifyClose)
                {
                    handler.OnClosed(closeError);
                }

                return;
            }

            try
            {
                handler.OnMessage(message);
            }
#pragma warning disable CA1031 // A handler that throws ends its link with that error instead of killing the scheduler.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Close(ex);
            }
        }
    }
}
