using System.Reactive.Concurrency;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Transport;

/// <summary>
/// The writer side of an in-memory endpoint: passes that pull messages from the handler and put them on the wire
/// towards the peer.
/// </summary>
/// <remarks>
/// <para>
/// Like the WebSocket link's writer, a pass pulls the next message only once the previous one is sent. With a
/// bandwidth on the direction, a message of n bytes occupies the wire for n / bandwidth: the pass pauses that long (it
/// keeps the writer context, so flushes requested meanwhile only make it go round again), and the message arrives
/// that much later, plus the latency. Frames therefore wait in the sender's own queue while the wire is busy.
/// </para>
/// <para>
/// While the peer reads slowly or not at all (<see cref="InMemoryNetwork.StopReading"/>), the bytes sent and not yet
/// read count against that fault's window, like a TCP window: once it is full the pass pauses without pulling, until
/// the peer reads (or the fault ends, or a side closes).
/// </para>
/// </remarks>
internal sealed partial class InMemoryEndpoint
{
    /// <summary>When the last message sent has been wholly put on the wire; the writer pulls nothing before.</summary>
    private DateTimeOffset _wireFreeAt = DateTimeOffset.MinValue;

    /// <summary>True while a pass is paused because the peer's window is full; the peer's reads wake it.</summary>
    private bool _writerBlocked;

    /// <summary>Resumes a pass paused on a full window, if the window has room now (or the link closed).</summary>
    public void WakeWriterLocked()
    {
        if (_writerBlocked && (_closed || !WindowFullLocked()))
        {
            _writerBlocked = false;
            Scheduler.Schedule(_writePass);
        }
    }

    private void WritePass()
    {
        var handler = Volatile.Read(ref _handler);
        using var output = new PooledBufferWriter();
        try
        {
            while (true)
            {
                while (handler is not null)
                {
                    lock (_network.Gate)
                    {
                        if (_closed || PausedLocked())
                        {
                            // Closed: the gate stays busy for good, so no later pass starts. Paused: this pass resumes later.
                            return;
                        }
                    }

                    output.Clear();
                    if (!handler.TryWriteMessage(output))
                    {
                        lock (_network.Gate)
                        {
                            if (_closingOrderly && !_closed)
                            {
                                // An orderly close waited for this: everything queued is on the wire now.
                                CloseNowLocked(null);
                                return;
                            }
                        }

                        break;
                    }

                    Transmit(output.WrittenSpan.ToArray());
                }

                if (IsClosed() || _flush.TryEnd())
                {
                    return;
                }

                handler = Volatile.Read(ref _handler);
            }
        }
#pragma warning disable CA1031 // A handler that throws ends its link with that error instead of killing the scheduler.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Close(ex);
        }
    }

    /// <summary>
    /// True when the pass may not pull now, having arranged its resumption: at the end of the current transmission, or
    /// (<see cref="WakeWriterLocked"/>) when the peer has read enough of a full window.
    /// </summary>
    private bool PausedLocked()
    {
        var now = Scheduler.Now;
        if (_wireFreeAt > now)
        {
            Scheduler.Schedule(_wireFreeAt - now, _writePass);
            return true;
        }

        if (WindowFullLocked())
        {
            _writerBlocked = true;
            return true;
        }

        return false;
    }

    /// <summary>True when the peer reads slowly or not at all and has at least its window's worth of our bytes unread.</summary>
    private bool WindowFullLocked() =>
        !Peer._closed && _network.ReaderFaultLocked(Local, Remote) is { } fault && Peer._inboundBytes >= fault.Window;

    private bool IsClosed()
    {
        lock (_network.Gate)
        {
            return _closed;
        }
    }

    private void Transmit(byte[] message)
    {
        lock (_network.Gate)
        {
            if (_closed)
            {
                return;
            }

            // The bytes take their time on the wire even when they are lost on the way or the far end is gone.
            var now = Scheduler.Now;
            var onWire = _network.TransmissionTimeLocked(Local, Remote, message.Length);
            if (onWire > TimeSpan.Zero)
            {
                _wireFreeAt = now + onWire;
            }

            var peer = Peer;
            if (peer._closed || _network.TryDropLocked(Local, Remote))
            {
                // Bytes sent towards a closed end vanish, as they would on a socket.
                return;
            }

            message = _network.CorruptLocked(Local, Remote, message);
            peer.EnqueueLocked(new InMemoryDelivery(message, null, now + onWire + _network.LatencyLocked(Local, Remote)));
        }
    }
}
