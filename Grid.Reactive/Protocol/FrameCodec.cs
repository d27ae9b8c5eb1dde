using System.Buffers;

namespace Grid.Reactive.Protocol;

/// <summary>
/// Encodes frames as MessagePack. Layout of one frame: an array
/// <c>[muxId, seq, deadlineMs, handlerId, op, flags, payload(bin|nil), subroute(str, only with FrameFlags.Subroute)]</c>,
/// followed, when <see cref="FrameFlags.Checksum"/> is set, by a uint32 holding the low 32 bits of xxHash3 over the
/// array's bytes. A merged message is one <see cref="Op.Merged"/> frame whose seq is the count of inner frames and
/// whose payload is their encodings back to back; it is written with fixed-width fields so the count and length can
/// be patched after the inner frames are written.
/// </summary>
internal static class FrameCodec
{
    /// <summary>Bytes of the fixed-width merged header written by <see cref="WriteMergedHeader"/>.</summary>
    public const int MergedHeaderSize = 0; // STUB: the protocol work sets this.

    /// <summary>Writes one frame. With <paramref name="checksum"/>, sets <see cref="FrameFlags.Checksum"/> and appends the checksum.</summary>
    public static void Write(IBufferWriter<byte> output, in Frame frame, bool checksum) => throw new NotImplementedException();

    /// <summary>Writes a merged header placeholder at the current end of <paramref name="output"/>.</summary>
    public static void WriteMergedHeader(IBufferWriter<byte> output) => throw new NotImplementedException();

    /// <summary>
    /// Patches the placeholder at the start of <paramref name="mergedMessage"/> (header plus the inner frames written
    /// after it) with the inner frame count and the payload length.
    /// </summary>
    public static void CompleteMergedHeader(Span<byte> mergedMessage, int count) => throw new NotImplementedException();
}

/// <summary>
/// Reads the frames of one transport message, unpacking a merged message into its inner frames. Total: for any
/// input it yields frames or throws <see cref="ProtocolException"/> with a clear message; it never allocates a size
/// read from the input. Payloads are slices of the message, valid as long as the message memory is.
/// </summary>
internal struct MessageReader
{
    /// <summary>Starts reading <paramref name="message"/>.</summary>
    public MessageReader(ReadOnlyMemory<byte> message) => throw new NotImplementedException();

    /// <summary>Reads the next frame; false when the message is used up.</summary>
    /// <exception cref="ProtocolException">The bytes are not a valid frame.</exception>
    public bool TryRead(out Frame frame) => throw new NotImplementedException();
}
