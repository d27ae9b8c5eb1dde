using System.Buffers;
using System.Text;
using MessagePack;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>Small encodings shared by both ends of a stream: error frames and the windows sent with an accept.</summary>
internal static class StreamErrors
{
    /// <summary>The error an error frame carries: not found, busy (its sequence number holds the code), or the remote's own text.</summary>
    public static Exception FromErrorFrame(in Frame frame)
    {
        var text = frame.Payload.IsEmpty ? "The remote gave no reason." : Encoding.UTF8.GetString(frame.Payload.Span);
        return (frame.Flags & FrameFlags.HandlerNotFound) != 0 ? new HandlerNotFoundException(text)
            : frame.Op == Op.StreamConnectError && frame.Seq == (uint)Protocol.ErrorCode.Busy ? new BusyException(text)
            : new RemoteException(text);
    }

    /// <summary>The accept's payload: <c>[inCapacity, outCapacity]</c>.</summary>
    public static byte[] WriteWindows(int inCapacity, int outCapacity)
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write(inCapacity);
        writer.Write(outCapacity);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static bool TryReadWindows(ReadOnlyMemory<byte> payload, out int inCapacity, out int outCapacity)
    {
        inCapacity = outCapacity = 0;
        try
        {
            var reader = new MessagePackReader(payload);
            if (reader.ReadArrayHeader() != 2)
            {
                return false;
            }

            inCapacity = reader.ReadInt32();
            outCapacity = reader.ReadInt32();
            return reader.End && inCapacity is >= 0 and <= 1 << 20 && outCapacity is >= 1 and <= 1 << 20;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException)
        {
            return false;
        }
    }
}
