using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using MessagePack;

namespace Grid.Reactive.Protocol;

/// <summary>
/// Encodes frames as MessagePack. Layout of one frame: an array
/// <c>[muxId, seq, deadlineMs, handlerId, op, flags, payload(bin|nil), subroute(str, only with FrameFlags.Subroute),
/// traceContext(bin, only with FrameFlags.TraceContext)]</c>,
/// followed, when <see cref="FrameFlags.Checksum"/> is set, by a uint32 holding the low 32 bits of xxHash3 over the
/// array's bytes. A merged message is one <see cref="Op.Merged"/> frame whose seq is the count of inner frames and
/// whose payload is their encodings back to back; it is written with fixed-width fields so the count and length can
/// be patched after the inner frames are written. <see cref="MessageReader"/> decodes all of this.
/// </summary>
internal static class FrameCodec
{
    /// <summary>Bytes of the fixed-width merged header written by <see cref="WriteMergedHeader"/>.</summary>
    /// <remarks>
    /// fixarray(7), muxId 0, seq as uint32 (0xce + 4 bytes), deadline 0, handler 0, op Merged, flags 0,
    /// bin32 header (0xc6 + 4 bytes): 1 + 1 + 5 + 1 + 1 + 1 + 1 + 5 bytes.
    /// </remarks>
    public const int MergedHeaderSize = 16;

    /// <summary>Every flag bit the protocol defines; any other bit is a protocol error.</summary>
    internal const FrameFlags KnownFlags = FrameFlags.Eof | FrameFlags.Error | FrameFlags.Empty | FrameFlags.Subroute
        | FrameFlags.Checksum | FrameFlags.HandlerNotFound | FrameFlags.TraceContext;

    /// <summary>The flags the encoder sets itself, whatever the caller passed.</summary>
    private const FrameFlags EncoderFlags = FrameFlags.Subroute | FrameFlags.Checksum | FrameFlags.TraceContext;

    // Offsets inside the merged header of the seq value and of the bin32 length.
    private const int MergedSeqOffset = 3;
    private const int MergedLengthOffset = 12;

    /// <summary>Strict UTF-8: invalid input throws instead of being replaced, so what is signed or sent is what was meant.</summary>
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReadOnlySpan<byte> MergedHeaderTemplate =>
    [
        MessagePackCode.MinFixArray | ProtocolConstants.FrameFields,
        0, // muxId
        MessagePackCode.UInt32, 0, 0, 0, 0, // seq: the inner frame count, patched
        0, // deadlineMs
        0, // handlerId
        (byte)Op.Merged,
        0, // flags
        MessagePackCode.Bin32, 0, 0, 0, 0, // payload length, patched
    ];

    /// <summary>True for the ops the protocol defines.</summary>
    internal static bool IsKnownOp(Op op) => op is >= Op.Connect and <= Op.ConnectProof;

    /// <summary>Writes one frame. With <paramref name="checksum"/>, sets <see cref="FrameFlags.Checksum"/> and appends the checksum.</summary>
    /// <param name="output">Where to write; the frame is appended to what is already there.</param>
    /// <param name="frame">The frame. Its <see cref="FrameFlags.Subroute"/> and <see cref="FrameFlags.Checksum"/> bits are ignored:
    /// the encoder sets them from <see cref="Frame.Subroute"/> and <paramref name="checksum"/>.</param>
    /// <param name="checksum">Whether to protect the frame with a checksum.</param>
    /// <exception cref="ArgumentException">The frame is a <see cref="Op.Merged"/> frame (use <see cref="WriteMergedHeader"/>),
    /// has an unknown op or flag bit, or its subroute is longer than <see cref="ProtocolConstants.MaxSubrouteBytes"/>
    /// UTF-8 bytes or is not valid UTF-16.</exception>
    public static void Write(IBufferWriter<byte> output, in Frame frame, bool checksum)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (frame.Op == Op.Merged)
        {
            throw new ArgumentException("Merged frames are written with WriteMergedHeader and CompleteMergedHeader.", nameof(frame));
        }

        if (!IsKnownOp(frame.Op))
        {
            throw new ArgumentException($"Unknown op {(byte)frame.Op}.", nameof(frame));
        }

        if ((frame.Flags & ~KnownFlags) != 0)
        {
            throw new ArgumentException($"Unknown flag bits 0x{(byte)(frame.Flags & ~KnownFlags):x2}.", nameof(frame));
        }

        var flags = frame.Flags & ~EncoderFlags;
        if (frame.Subroute is not null)
        {
            ValidateSubroute(frame);
            flags |= FrameFlags.Subroute;
        }

        if (!frame.TraceContext.IsEmpty)
        {
            ValidateTraceContext(frame);
            flags |= FrameFlags.TraceContext;
        }

        if (!checksum)
        {
            var writer = new MessagePackWriter(output);
            WriteArray(ref writer, frame, flags);
            writer.Flush();
            return;
        }

        // The checksum covers the array's bytes as written. Rather than staging them in a scratch buffer, the array is
        // written through a thin IBufferWriter that hashes each block of the output as it is committed.
        flags |= FrameFlags.Checksum;
        uint hash;
        var hashing = HashingBufferWriter.Rent(output);
        try
        {
            var writer = new MessagePackWriter(hashing);
            WriteArray(ref writer, frame, flags);
            writer.Flush();
            hash = hashing.Low32;
        }
        finally
        {
            HashingBufferWriter.Return(hashing);
        }

        var tail = new MessagePackWriter(output);
        tail.WriteUInt32(hash); // always the 5-byte form
        tail.Flush();
    }

    /// <summary>Writes a merged header placeholder at the current end of <paramref name="output"/>.</summary>
    /// <param name="output">Where to write; the inner frames are then appended with <see cref="Write"/>.</param>
    public static void WriteMergedHeader(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(MergedHeaderSize);
        MergedHeaderTemplate.CopyTo(span);
        output.Advance(MergedHeaderSize);
    }

    /// <summary>
    /// Patches the placeholder at the start of <paramref name="mergedMessage"/> (header plus the inner frames written
    /// after it) with the inner frame count and the payload length.
    /// </summary>
    /// <param name="mergedMessage">Exactly the header written by <see cref="WriteMergedHeader"/> and the inner frames after it.</param>
    /// <param name="count">How many inner frames were written.</param>
    /// <exception cref="ArgumentException"><paramref name="mergedMessage"/> does not start with a merged header.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public static void CompleteMergedHeader(Span<byte> mergedMessage, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var template = MergedHeaderTemplate;
        if (mergedMessage.Length < MergedHeaderSize
            || mergedMessage[0] != template[0]
            || mergedMessage[MergedSeqOffset - 1] != MessagePackCode.UInt32
            || mergedMessage[MergedLengthOffset - 3] != (byte)Op.Merged
            || mergedMessage[MergedLengthOffset - 1] != MessagePackCode.Bin32)
        {
            throw new ArgumentException("The span does not start with a merged header.", nameof(mergedMessage));
        }

        BinaryPrimitives.WriteUInt32BigEndian(mergedMessage[MergedSeqOffset..], (uint)count);
        BinaryPrimitives.WriteUInt32BigEndian(mergedMessage[MergedLengthOffset..], (uint)(mergedMessage.Length - MergedHeaderSize));
    }

    private static void WriteArray(ref MessagePackWriter writer, in Frame frame, FrameFlags flags)
    {
        var subroute = frame.Subroute;
        var traced = (flags & FrameFlags.TraceContext) != 0;
        writer.WriteArrayHeader(ProtocolConstants.FrameFields + (subroute is null ? 0 : 1) + (traced ? 1 : 0));
        writer.Write(frame.MuxId);
        writer.Write(frame.Seq);
        writer.Write(frame.DeadlineMs);
        writer.Write(frame.HandlerId);
        writer.Write((byte)frame.Op);
        writer.Write((byte)flags);
        if (frame.Payload.IsEmpty)
        {
            writer.WriteNil(); // empty and null alike; FrameFlags.Empty tells them apart
        }
        else
        {
            writer.Write(frame.Payload.Span);
        }

        if (subroute is not null)
        {
            writer.Write(subroute);
        }

        if (traced)
        {
            writer.Write(frame.TraceContext.Span);
        }
    }

    private static void ValidateTraceContext(in Frame frame)
    {
        if (frame.Op is not (Op.Request or Op.StreamConnect))
        {
            throw new ArgumentException($"Only Request and StreamConnect frames carry a trace context, not {frame.Op}.", nameof(frame));
        }

        if (frame.TraceContext.Length is < Diagnostics.TraceContextCodec.FixedBytes or > Diagnostics.TraceContextCodec.MaxBytes)
        {
            throw new ArgumentException(
                $"A trace context is {Diagnostics.TraceContextCodec.FixedBytes} to {Diagnostics.TraceContextCodec.MaxBytes} bytes long, not {frame.TraceContext.Length}.", nameof(frame));
        }
    }

    private static void ValidateSubroute(in Frame frame)
    {
        var subroute = frame.Subroute!;
        // Every char takes at least one UTF-8 byte, so a long string is rejected without counting.
        if (subroute.Length > ProtocolConstants.MaxSubrouteBytes)
        {
            throw new ArgumentException($"The subroute is longer than {ProtocolConstants.MaxSubrouteBytes} UTF-8 bytes.", nameof(frame));
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(subroute);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("The subroute is not valid UTF-16 (lone surrogate).", nameof(frame), ex);
        }

        if (bytes > ProtocolConstants.MaxSubrouteBytes)
        {
            throw new ArgumentException(
                $"The subroute is {bytes} UTF-8 bytes long; at most {ProtocolConstants.MaxSubrouteBytes} are allowed.", nameof(frame));
        }
    }

    /// <summary>
    /// Forwards to an output and hashes every block as it is committed, so a checksum can be taken over bytes that went
    /// straight into the output. One instance per thread is reused; it holds no reference to the output between uses.
    /// </summary>
    private sealed class HashingBufferWriter : IBufferWriter<byte>
    {
        [ThreadStatic]
        private static HashingBufferWriter? t_cached;

        private readonly XxHash3 _hash = new();
        private IBufferWriter<byte>? _inner;
        private Memory<byte> _current;

        /// <summary>The low 32 bits of the hash of everything committed so far.</summary>
        public uint Low32 => unchecked((uint)_hash.GetCurrentHashAsUInt64());

        public static HashingBufferWriter Rent(IBufferWriter<byte> inner)
        {
            var writer = t_cached ?? new HashingBufferWriter();
            t_cached = null; // a re-entrant use on this thread gets its own instance
            writer._inner = inner;
            writer._hash.Reset();
            return writer;
        }

        public static void Return(HashingBufferWriter writer)
        {
            writer._inner = null;
            writer._current = default;
            t_cached = writer;
        }

        public void Advance(int count)
        {
            // The committed bytes are still ours to read until the inner writer is told about them.
            _hash.Append(_current.Span[..count]);
            _current = _current[count..];
            _inner!.Advance(count);
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => _current = _inner!.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
