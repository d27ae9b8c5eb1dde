using System.Buffers;
using System.Runtime.InteropServices;
using Grid.Reactive.Protocol;
using MessagePack;
using NUnit.Framework;

namespace Grid.Reactive.Tests.Protocol;

/// <summary>Writes raw MessagePack for hand-made (often malformed) inputs.</summary>
internal delegate void RawWrite(ref MessagePackWriter writer);

internal static class FrameTestHelpers
{
    public const FrameFlags EncoderFlags = FrameFlags.Subroute | FrameFlags.Checksum | FrameFlags.TraceContext;

    public static byte[] Encode(in Frame frame, bool checksum = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameCodec.Write(buffer, frame, checksum);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes <paramref name="frames"/> as one merged message, each inner frame with a checksum when <paramref name="checksum"/> says so.</summary>
    public static byte[] EncodeMerged(IReadOnlyList<Frame> frames, Func<int, bool>? checksum = null, int? declaredCount = null)
    {
        using var writer = new PooledBufferWriter(64);
        FrameCodec.WriteMergedHeader(writer);
        for (var i = 0; i < frames.Count; i++)
        {
            FrameCodec.Write(writer, frames[i], checksum?.Invoke(i) ?? false);
        }

        FrameCodec.CompleteMergedHeader(writer.WrittenSpan, declaredCount ?? frames.Count);
        return writer.WrittenMemory.ToArray();
    }

    public static byte[] Raw(RawWrite write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static List<Frame> ReadAll(ReadOnlyMemory<byte> message)
    {
        var frames = new List<Frame>();
        var reader = new MessageReader(message);
        while (reader.TryRead(out var frame))
        {
            frames.Add(frame);
            if (frames.Count > message.Length)
            {
                // Every frame takes at least 8 bytes: more frames than bytes means the reader is not making progress.
                throw new InvalidOperationException($"MessageReader yielded {frames.Count} frames from {message.Length} bytes.");
            }
        }

        return frames;
    }

    /// <summary>The frame the decoder should return for <paramref name="sent"/>: the encoder-managed flags set by the encoder.</summary>
    public static string Expected(in Frame sent, bool checksum)
    {
        var flags = sent.Flags & ~EncoderFlags;
        if (sent.Subroute is not null)
        {
            flags |= FrameFlags.Subroute;
        }

        if (checksum)
        {
            flags |= FrameFlags.Checksum;
        }

        if (!sent.TraceContext.IsEmpty)
        {
            flags |= FrameFlags.TraceContext;
        }

        return Describe(new Frame(sent.Op, sent.MuxId, sent.Seq, sent.DeadlineMs, sent.HandlerId, flags, sent.Payload, sent.Subroute)
        {
            TraceContext = sent.TraceContext,
        });
    }

    /// <summary>Every field of a frame, including payload bytes and whether it stands for null, as one comparable string.</summary>
    public static string Describe(in Frame frame) =>
        $"{frame} null={frame.IsNullPayload} sub={(frame.Subroute is null ? "<null>" : "'" + frame.Subroute + "'")} bytes={Convert.ToHexString(frame.Payload.Span)} trace={Convert.ToHexString(frame.TraceContext.Span)}";

    /// <summary>True when <paramref name="payload"/> is a slice of <paramref name="message"/>'s array (or empty).</summary>
    public static bool IsSliceOf(ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> message)
    {
        if (payload.IsEmpty)
        {
            return true;
        }

        return MemoryMarshal.TryGetArray(payload, out var p)
            && MemoryMarshal.TryGetArray(message, out var m)
            && ReferenceEquals(p.Array, m.Array)
            && p.Offset >= m.Offset
            && p.Offset + p.Count <= m.Offset + m.Count;
    }

    /// <summary>Asserts that reading <paramref name="message"/> fails with a ProtocolException whose message contains <paramref name="expectedText"/>.</summary>
    public static void AssertProtocolError(byte[] message, string expectedText)
    {
        Assert.That(() => ReadAll(message), Throws.TypeOf<ProtocolException>().With.Message.Contains(expectedText).IgnoreCase,
            Convert.ToHexString(message));
    }

    /// <summary>A frame array with the given element count and values, valid or not.</summary>
    public static byte[] RawFrame(int fields, object?[] values) => Raw((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(fields);
        foreach (var value in values)
        {
            switch (value)
            {
                case null: w.WriteNil(); break;
                case byte[] bytes: w.Write(bytes); break;
                case string s: w.Write(s); break;
                case long l: w.Write(l); break;
                case ulong u: w.Write(u); break;
                case int i: w.Write(i); break;
                default: throw new ArgumentException(value.GetType().Name);
            }
        }
    });
}

/// <summary>An output that hands out the smallest blocks it may (at least the size hint, else 3 bytes), each a fresh array.</summary>
internal sealed class TinyBlockWriter : IBufferWriter<byte>
{
    private readonly List<byte> _written = [];
    private byte[] _block = [];

    public int Blocks { get; private set; }

    public byte[] ToArray() => [.. _written];

    public void Advance(int count)
    {
        _written.AddRange(_block.AsSpan(0, count));
        _block = [];
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Blocks++;
        _block = new byte[Math.Max(sizeHint, 3)];
        return _block;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
