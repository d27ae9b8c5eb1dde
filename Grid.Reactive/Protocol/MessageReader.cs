using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using MessagePack;

namespace Grid.Reactive.Protocol;

/// <summary>
/// Reads the frames of one transport message, unpacking a merged message into its inner frames. Total: for any
/// input it yields frames or throws <see cref="ProtocolException"/> with a clear message; it never allocates a size
/// read from the input. Payloads are slices of the message, valid as long as the message memory is.
/// </summary>
/// <remarks>
/// A message is one or more frames back to back (normally exactly one). A <see cref="Op.Merged"/> frame is never
/// yielded itself: its inner frames are, in order, after which reading continues with whatever follows it. Frames are
/// decoded lazily, so a malformed message may yield some frames before the error is found. Decoded frames carry the
/// flags as received, including the encoder-managed <see cref="FrameFlags.Subroute"/> and <see cref="FrameFlags.Checksum"/>.
/// This is a mutable struct: keep it in a local and do not copy it while reading.
/// </remarks>
internal struct MessageReader
{
    private readonly ReadOnlyMemory<byte> _message;
    private int _position;       // next outer frame
    private bool _inMerged;      // true while yielding the inner frames of a merged frame
    private int _mergedOffset;   // where that merged frame starts, for error messages
    private int _mergedPosition; // next inner frame
    private int _mergedEnd;      // end of the merged payload
    private uint _mergedCount;   // inner frames the merged frame declares
    private uint _mergedRead;    // inner frames yielded so far

    /// <summary>Starts reading <paramref name="message"/>.</summary>
    /// <param name="message">One transport message.</param>
    public MessageReader(ReadOnlyMemory<byte> message)
    {
        _message = message;
    }

    /// <summary>Reads the next frame; false when the message is used up.</summary>
    /// <param name="frame">The frame read; its payload is a slice of the message.</param>
    /// <returns>True when a frame was read, false at the end of the message.</returns>
    /// <exception cref="ProtocolException">The bytes are not a valid frame.</exception>
    public bool TryRead(out Frame frame)
    {
        while (true)
        {
            if (_inMerged)
            {
                if (_mergedPosition == _mergedEnd)
                {
                    if (_mergedRead != _mergedCount)
                    {
                        throw new ProtocolException(
                            $"Merged frame count mismatch: the merged frame at offset {_mergedOffset} declares {_mergedCount} inner frames but holds {_mergedRead}.");
                    }

                    _inMerged = false;
                    continue;
                }

                if (_mergedRead == _mergedCount)
                {
                    throw new ProtocolException(
                        $"Merged frame count mismatch: the merged frame at offset {_mergedOffset} declares {_mergedCount} inner frames but has more bytes at offset {_mergedPosition}.");
                }

                frame = ReadFrame(_message, _mergedPosition, _mergedEnd, out var next, out _);
                if (frame.Op == Op.Merged)
                {
                    throw new ProtocolException(
                        $"Nested merged frame at offset {_mergedPosition} inside the merged frame at offset {_mergedOffset}.");
                }

                _mergedPosition = next;
                _mergedRead++;
                return true;
            }

            if (_position >= _message.Length)
            {
                if (_message.IsEmpty)
                {
                    throw new ProtocolException("Empty message: a message holds at least one frame.");
                }

                frame = default;
                return false;
            }

            var start = _position;
            frame = ReadFrame(_message, start, _message.Length, out var after, out var payloadOffset);
            if (frame.Op != Op.Merged)
            {
                _position = after;
                return true;
            }

            CheckMergedHeader(frame, start);
            _position = after;
            _inMerged = true;
            _mergedOffset = start;
            _mergedPosition = payloadOffset;
            _mergedEnd = payloadOffset + frame.Payload.Length;
            _mergedCount = frame.Seq;
            _mergedRead = 0;
        }
    }

    private static void CheckMergedHeader(in Frame merged, int offset)
    {
        if (merged.Flags != FrameFlags.None)
        {
            throw new ProtocolException(
                $"The merged frame at offset {offset} has flags {merged.Flags}; a merged frame carries no flags (its inner frames may carry checksums).");
        }

        if (merged.MuxId != 0 || merged.DeadlineMs != 0 || merged.HandlerId != 0)
        {
            throw new ProtocolException(
                $"The merged frame at offset {offset} has mux id {merged.MuxId}, deadline {merged.DeadlineMs} and handler {merged.HandlerId}; all must be 0.");
        }
    }

    /// <summary>Decodes the frame at <paramref name="start"/>, reading no further than <paramref name="end"/>.</summary>
    private static Frame ReadFrame(ReadOnlyMemory<byte> message, int start, int end, out int next, out int payloadOffset) =>
        FastFrameReader.TryRead(message, start, end, out var frame, out next, out payloadOffset)
            ? frame
            : ReadFrameFully(message, start, end, out next, out payloadOffset);

    /// <summary>
    /// Reads a frame in any valid MessagePack encoding and says exactly what is wrong with an invalid one. The fast
    /// reader handles the encodings the grid itself writes and hands everything else here.
    /// </summary>
    internal static Frame ReadFrameFully(ReadOnlyMemory<byte> message, int start, int end, out int next, out int payloadOffset)
    {
        var source = message[start..end];
        var reader = new MessagePackReader(new ReadOnlySequence<byte>(source));
        try
        {
            var count = WireReader.ReadArrayHeader(ref reader, start, "frame");
            if (count is < ProtocolConstants.FrameFields or > ProtocolConstants.FrameFieldsWithSubroute + 1)
            {
                throw new ProtocolException(
                    $"The frame at offset {start} is an array of {count} elements; a frame has {ProtocolConstants.FrameFields} to {ProtocolConstants.FrameFieldsWithSubroute + 1}.");
            }

            var muxId = WireReader.ReadUInt(ref reader, start, "muxId", ulong.MaxValue);
            var seq = (uint)WireReader.ReadUInt(ref reader, start, "seq", uint.MaxValue);
            var deadlineMs = (uint)WireReader.ReadUInt(ref reader, start, "deadlineMs", uint.MaxValue);
            var handlerId = (ushort)WireReader.ReadUInt(ref reader, start, "handlerId", ushort.MaxValue);

            var opOffset = start + reader.Consumed;
            var op = (Op)WireReader.ReadUInt(ref reader, start, "op", byte.MaxValue);
            if (!FrameCodec.IsKnownOp(op))
            {
                throw new ProtocolException($"Unknown op {(byte)op} at offset {opOffset}.");
            }

            var flagsOffset = start + reader.Consumed;
            var flags = (FrameFlags)WireReader.ReadUInt(ref reader, start, "flags", byte.MaxValue);
            if ((flags & ~FrameCodec.KnownFlags) != 0)
            {
                throw new ProtocolException(
                    $"Unknown flag bits 0x{(byte)(flags & ~FrameCodec.KnownFlags):x2} in flags 0x{(byte)flags:x2} at offset {flagsOffset}.");
            }

            var hasSubroute = (flags & FrameFlags.Subroute) != 0;
            var hasTrace = (flags & FrameFlags.TraceContext) != 0;
            var expected = ProtocolConstants.FrameFields + (hasSubroute ? 1 : 0) + (hasTrace ? 1 : 0);
            if (count != expected)
            {
                throw new ProtocolException(
                    hasSubroute && count < expected ? $"The frame at offset {start} has the subroute flag but only {count} elements."
                    : hasTrace && count < expected ? $"The frame at offset {start} has the trace context flag but only {count} elements."
                    : $"The frame at offset {start} has {count} elements but no {(hasSubroute ? "trace context" : "subroute")} flag.");
            }

            if (hasTrace && op is not (Op.Request or Op.StreamConnect))
            {
                throw new ProtocolException($"The {op} frame at offset {start} carries a trace context; only Request and StreamConnect frames do.");
            }

            var payload = WireReader.ReadBinary(ref reader, source, start, "payload", int.MaxValue, out _);
            payloadOffset = start + (int)reader.Consumed - payload.Length;
            var subroute = hasSubroute
                ? WireReader.ReadString(ref reader, source.Span, start, "subroute", ProtocolConstants.MaxSubrouteBytes)
                : null;
            var traceContext = hasTrace
                ? ReadTraceContext(ref reader, source, start)
                : default;

            if ((flags & FrameFlags.Checksum) != 0)
            {
                var arrayLength = (int)reader.Consumed;
                var carried = (uint)WireReader.ReadUInt(ref reader, start, "checksum", uint.MaxValue);
                var computed = unchecked((uint)XxHash3.HashToUInt64(source.Span[..arrayLength]));
                if (carried != computed)
                {
                    throw new ProtocolException(
                        $"Checksum mismatch in the frame at offset {start}: it carries 0x{carried:x8}, its {arrayLength} bytes hash to 0x{computed:x8}.");
                }
            }

            next = start + (int)reader.Consumed;
            return new Frame(op, muxId, seq, deadlineMs, handlerId, flags, payload, subroute) { TraceContext = traceContext };
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException
                                       or ArgumentException or InvalidOperationException)
        {
            // Backstop: the field readers check types and lengths first, so the MessagePack reader should not throw.
            throw new ProtocolException($"Malformed frame at offset {start}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Reads the trace-context field: a bin of <see cref="Diagnostics.TraceContextCodec.FixedBytes"/> to
    /// <see cref="Diagnostics.TraceContextCodec.MaxBytes"/> bytes. Its contents are judged only when a span is made
    /// from it, and an invalid context is then ignored (as W3C asks), never an error.
    /// </summary>
    private static ReadOnlyMemory<byte> ReadTraceContext(ref MessagePackReader reader, ReadOnlyMemory<byte> source, int start)
    {
        var at = start + reader.Consumed;
        var field = WireReader.ReadBinary(ref reader, source, start, "traceContext", Diagnostics.TraceContextCodec.MaxBytes, out var isNil);
        if (isNil || field.Length < Diagnostics.TraceContextCodec.FixedBytes)
        {
            throw new ProtocolException(
                $"traceContext at offset {at} is {(isNil ? "nil" : field.Length + " bytes long")}; it holds at least {Diagnostics.TraceContextCodec.FixedBytes} bytes.");
        }

        return field;
    }
}

/// <summary>
/// Field readers shared by the frame and handshake decoders. Each checks the type and, for strings and binaries, the
/// declared length against a cap and against the bytes left before the MessagePack reader consumes anything, so
/// malformed input ends in a <see cref="ProtocolException"/> that names the field and its byte offset.
/// </summary>
/// <remarks>
/// Offsets: the reader reads <c>source</c>, which starts at <c>baseOffset</c> of the whole message; errors report
/// <c>baseOffset + reader.Consumed</c>.
/// </remarks>
internal static class WireReader
{
    /// <summary>Reads an array header; the count may be anything (even negative for a lying array32): callers compare it.</summary>
    public static int ReadArrayHeader(ref MessagePackReader reader, int baseOffset, string field)
    {
        var at = baseOffset + reader.Consumed;
        var code = Peek(ref reader, field, at);
        if (MessagePackCode.ToMessagePackType(code) != MessagePackType.Array)
        {
            throw WrongType(field, at, "an array", code);
        }

        return reader.TryReadArrayHeader(out var count) ? count : throw Truncated(field, at);
    }

    /// <summary>Reads any MessagePack integer without loss, whatever its encoding.</summary>
    public static Int128 ReadInteger(ref MessagePackReader reader, int baseOffset, string field)
    {
        var at = baseOffset + reader.Consumed;
        var code = Peek(ref reader, field, at);
        if (MessagePackCode.ToMessagePackType(code) != MessagePackType.Integer)
        {
            throw WrongType(field, at, "an integer", code);
        }

        try
        {
            // Unsigned encodings go through ReadUInt64 and signed ones through ReadInt64, so no value wraps around.
            return code <= MessagePackCode.MaxFixInt || code is >= MessagePackCode.UInt8 and <= MessagePackCode.UInt64
                ? reader.ReadUInt64()
                : reader.ReadInt64();
        }
        catch (EndOfStreamException)
        {
            throw Truncated(field, at);
        }
    }

    /// <summary>Reads an integer in <c>0..max</c>.</summary>
    public static ulong ReadUInt(ref MessagePackReader reader, int baseOffset, string field, ulong max)
    {
        var at = baseOffset + reader.Consumed;
        var value = ReadInteger(ref reader, baseOffset, field);
        return value >= 0 && value <= max
            ? (ulong)value
            : throw new ProtocolException($"{field} {value} at offset {at} is out of range 0..{max}.");
    }

    /// <summary>Reads a bin or nil as a slice of <paramref name="source"/>; nil gives empty memory and <paramref name="isNil"/>.</summary>
    public static ReadOnlyMemory<byte> ReadBinary(ref MessagePackReader reader, ReadOnlyMemory<byte> source, int baseOffset,
        string field, int maxLength, out bool isNil)
    {
        var at = baseOffset + reader.Consumed;
        var code = Peek(ref reader, field, at);
        isNil = code == MessagePackCode.Nil;
        if (isNil)
        {
            reader.ReadNil();
            return default;
        }

        if (code is not (MessagePackCode.Bin8 or MessagePackCode.Bin16 or MessagePackCode.Bin32))
        {
            throw WrongType(field, at, "binary or nil", code);
        }

        var length = PeekLength(source.Span, (int)reader.Consumed, field, at, maxLength);
        _ = reader.ReadBytes(); // a slice of the single-segment sequence: recovered below as a slice of the memory
        return source.Slice((int)reader.Consumed - length, length);
    }

    /// <summary>Reads a non-nil string of at most <paramref name="maxBytes"/> UTF-8 bytes, which must be valid UTF-8.</summary>
    public static string ReadString(ref MessagePackReader reader, ReadOnlySpan<byte> source, int baseOffset, string field, int maxBytes)
    {
        var at = baseOffset + reader.Consumed;
        var code = Peek(ref reader, field, at);
        if (MessagePackCode.ToMessagePackType(code) != MessagePackType.String)
        {
            throw WrongType(field, at, "a string", code);
        }

        var length = PeekLength(source, (int)reader.Consumed, field, at, maxBytes);
        _ = reader.ReadStringSequence();
        try
        {
            return FrameCodec.StrictUtf8.GetString(source.Slice((int)reader.Consumed - length, length));
        }
        catch (DecoderFallbackException ex)
        {
            throw new ProtocolException($"{field} at offset {at} is not valid UTF-8.", ex);
        }
    }

    /// <summary>The error for input that ends inside <paramref name="field"/>.</summary>
    public static ProtocolException Truncated(string field, long at) =>
        new($"Truncated input: {field} at offset {at} runs past the end of the data.");

    private static byte Peek(ref MessagePackReader reader, string field, long at) =>
        reader.End ? throw Truncated(field, at) : reader.NextCode;

    private static ProtocolException WrongType(string field, long at, string expected, byte code) =>
        new($"{field} at offset {at}: expected {expected}, found code 0x{code:x2} ({MessagePackCode.ToMessagePackType(code)}).");

    /// <summary>
    /// Parses the length of the str or bin header at <paramref name="position"/> and checks it against
    /// <paramref name="maxLength"/> and the bytes left, before anything trusts it.
    /// </summary>
    private static int PeekLength(ReadOnlySpan<byte> source, int position, string field, long at, int maxLength)
    {
        var code = source[position];
        var size = code switch
        {
            MessagePackCode.Bin8 or MessagePackCode.Str8 => 1,
            MessagePackCode.Bin16 or MessagePackCode.Str16 => 2,
            MessagePackCode.Bin32 or MessagePackCode.Str32 => 4,
            _ => 0, // fixstr: the length is in the code
        };
        var left = source.Length - position - 1 - size;
        if (left < 0)
        {
            throw Truncated(field, at);
        }

        var header = source.Slice(position + 1, size);
        long length = size switch
        {
            0 => code & 0x1f,
            1 => header[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(header),
            _ => BinaryPrimitives.ReadUInt32BigEndian(header),
        };
        if (length > left)
        {
            throw new ProtocolException($"Truncated input: {field} at offset {at} claims {length} bytes but only {left} are left.");
        }

        if (length > maxLength)
        {
            throw new ProtocolException($"{field} at offset {at} is {length} bytes long; at most {maxLength} are allowed.");
        }

        return (int)length;
    }
}
