using System.Buffers;
using System.Text;
using Grid.Reactive.Protocol;
using MessagePack;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>Small encodings shared by both ends of a stream: error frames and the windows sent with an accept.</summary>
internal static class StreamErrors
{
    private const string NoReason = "The remote gave no reason.";

    /// <summary>The error an error frame carries: not found, busy (its sequence number holds the code), or the remote's own error (with its code and type when sent).</summary>
    public static Exception FromErrorFrame(in Frame frame)
    {
        if ((frame.Flags & FrameFlags.HandlerNotFound) != 0)
        {
            return new HandlerNotFoundException(frame.Payload.IsEmpty ? NoReason : Encoding.UTF8.GetString(frame.Payload.Span));
        }

        if (frame.Op == Op.StreamConnectError && frame.Seq == (uint)Protocol.ErrorCode.Busy)
        {
            return new BusyException(frame.Payload.IsEmpty ? NoReason : Encoding.UTF8.GetString(frame.Payload.Span));
        }

        return RemoteErrorPayload.ToException(frame.Payload.Span, NoReason);
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
