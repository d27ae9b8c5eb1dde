using System.Buffers.Binary;
using System.Text;

namespace Grid.Reactive.Protocol;

/// <summary>
/// Decodes a frame straight from a span when it uses the plain encodings the grid writes (a fixarray, unsigned
/// integers, bin or nil, a short string). Anything else (signed or odd encodings, a checksum, anything malformed) makes
/// it return false without judging, and <see cref="MessageReader"/> reads the frame fully, with its exact errors. So
/// whatever this accepts, the full reader accepts the same way; it only saves the general reader's overhead on the hot
/// path.
/// </summary>
internal static class FastFrameReader
{
    private const byte FixArray7 = 0x97;
    private const byte FixArray8 = 0x98;
    private const byte FixArray9 = 0x99;

    public static bool TryRead(ReadOnlyMemory<byte> message, int start, int end, out Frame frame, out int next, out int payloadOffset)
    {
        frame = default;
        next = payloadOffset = 0;
        var span = message.Span[..end];
        var p = start;
        if (p >= end || span[p] is not (FixArray7 or FixArray8 or FixArray9))
        {
            return false;
        }

        var fields = span[p] - FixArray7 + ProtocolConstants.FrameFields;
        p++;
        if (!TryUInt(span, ref p, out var muxId) || !TryUInt(span, ref p, out var seq) || seq > uint.MaxValue
            || !TryUInt(span, ref p, out var deadline) || deadline > uint.MaxValue
            || !TryUInt(span, ref p, out var handler) || handler > ushort.MaxValue
            || !TryUInt(span, ref p, out var opValue) || opValue > byte.MaxValue
            || !TryUInt(span, ref p, out var flagValue) || flagValue > byte.MaxValue)
        {
            return false;
        }

        var op = (Op)opValue;
        var flags = (FrameFlags)flagValue;
        var withSubroute = (flags & FrameFlags.Subroute) != 0;
        var withTrace = (flags & FrameFlags.TraceContext) != 0;
        if (!FrameCodec.IsKnownOp(op) || (flags & ~FrameCodec.KnownFlags) != 0 || (flags & FrameFlags.Checksum) != 0
            || fields != ProtocolConstants.FrameFields + (withSubroute ? 1 : 0) + (withTrace ? 1 : 0)
            || (withTrace && op is not (Op.Request or Op.StreamConnect))
            || !TryBinary(span, ref p, out var offset, out var length))
        {
            return false;
        }

        string? subroute = null;
        if (withSubroute && !TryString(span, ref p, out subroute))
        {
            return false;
        }

        ReadOnlyMemory<byte> traceContext = default;
        if (withTrace)
        {
            // Nil or a length out of range is an error the full reader words.
            if (p >= span.Length || span[p] == 0xc0 || !TryBinary(span, ref p, out var traceOffset, out var traceLength)
                || traceLength is < Diagnostics.TraceContextCodec.FixedBytes or > Diagnostics.TraceContextCodec.MaxBytes)
            {
                return false;
            }

            traceContext = message.Slice(traceOffset, traceLength);
        }

        next = p;
        payloadOffset = offset;
        frame = new Frame(op, muxId, (uint)seq, (uint)deadline, (ushort)handler, flags, message.Slice(offset, length), subroute)
        {
            TraceContext = traceContext,
        };
        return true;
    }

    private static bool TryUInt(ReadOnlySpan<byte> span, ref int p, out ulong value)
    {
        value = 0;
        if (p >= span.Length)
        {
            return false;
        }

        var code = span[p];
        if (code <= 0x7f)
        {
            value = code;
            p++;
            return true;
        }

        var size = code switch
        {
            0xcc => 1,
            0xcd => 2,
            0xce => 4,
            0xcf => 8,
            _ => 0,
        };
        if (size == 0 || span.Length - p - 1 < size)
        {
            return false;
        }

        var bytes = span.Slice(p + 1, size);
        value = size switch
        {
            1 => bytes[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(bytes),
            4 => BinaryPrimitives.ReadUInt32BigEndian(bytes),
            _ => BinaryPrimitives.ReadUInt64BigEndian(bytes),
        };
        p += 1 + size;
        return true;
    }

    private static bool TryBinary(ReadOnlySpan<byte> span, ref int p, out int offset, out int length)
    {
        offset = length = 0;
        if (p >= span.Length)
        {
            return false;
        }

        var code = span[p];
        if (code == 0xc0)
        {
            p++;
            offset = p;
            return true;
        }

        var size = code switch
        {
            0xc4 => 1,
            0xc5 => 2,
            0xc6 => 4,
            _ => 0,
        };
        if (size == 0 || span.Length - p - 1 < size)
        {
            return false;
        }

        var header = span.Slice(p + 1, size);
        long claimed = size switch
        {
            1 => header[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(header),
            _ => BinaryPrimitives.ReadUInt32BigEndian(header),
        };
        var start = p + 1 + size;
        if (claimed > span.Length - start)
        {
            return false;
        }

        offset = start;
        length = (int)claimed;
        p = start + length;
        return true;
    }

    private static bool TryString(ReadOnlySpan<byte> span, ref int p, out string? value)
    {
        value = null;
        if (p >= span.Length)
        {
            return false;
        }

        var code = span[p];
        int start;
        int length;
        if (code is >= 0xa0 and <= 0xbf)
        {
            start = p + 1;
            length = code & 0x1f;
        }
        else if (code == 0xd9 && p + 1 < span.Length)
        {
            start = p + 2;
            length = span[p + 1];
        }
        else
        {
            return false;
        }

        if (length > ProtocolConstants.MaxSubrouteBytes || length > span.Length - start)
        {
            return false;
        }

        try
        {
            value = FrameCodec.StrictUtf8.GetString(span.Slice(start, length));
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        p = start + length;
        return true;
    }
}
