using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Grid.Reactive.Protocol;
using MessagePack;
using NUnit.Framework;
using static Grid.Reactive.Tests.Protocol.FrameTestHelpers;

namespace Grid.Reactive.Tests.Protocol;

[TestFixture]
public sealed class FrameCodecTests
{
    private static readonly FrameFlags[] CallerFlags = BuildCallerFlags();

    private static FrameFlags[] BuildCallerFlags()
    {
        // Every combination of the flags a caller sets itself (Subroute and Checksum are the encoder's).
        var bits = new[] { FrameFlags.Eof, FrameFlags.Error, FrameFlags.Empty, FrameFlags.HandlerNotFound };
        var all = new FrameFlags[1 << bits.Length];
        for (var mask = 0; mask < all.Length; mask++)
        {
            for (var b = 0; b < bits.Length; b++)
            {
                if ((mask & (1 << b)) != 0)
                {
                    all[mask] |= bits[b];
                }
            }
        }

        return all;
    }

    [Test]
    public void Every_op_and_legal_flag_combination_round_trips()
    {
        ReadOnlyMemory<byte>[] payloads = [default, new byte[] { 1, 2, 3 }];
        string?[] subroutes = [null, "", "orders/eu"];
        var cases = 0;
        for (var op = Op.Connect; op < Op.Merged; op++)
        {
            foreach (var flags in CallerFlags)
            {
                foreach (var payload in payloads)
                {
                    foreach (var subroute in subroutes)
                    {
                        foreach (var checksum in new[] { false, true })
                        {
                            var sent = new Frame(op, 7, 8, 9, 10, flags, payload, subroute);
                            var frames = ReadAll(Encode(sent, checksum));
                            Assert.That(frames, Has.Count.EqualTo(1), $"{sent} checksum={checksum}");
                            Assert.That(Describe(frames[0]), Is.EqualTo(Expected(sent, checksum)));
                            cases++;
                        }
                    }
                }
            }
        }

        Assert.That(cases, Is.EqualTo(17 * 16 * 2 * 3 * 2));
    }

    [Test]
    public void Field_extremes_round_trip()
    {
        foreach (var (mux, seq, deadline, handler) in new (ulong, uint, uint, ushort)[]
                 {
                     (0, 0, 0, 0), (ulong.MaxValue, uint.MaxValue, uint.MaxValue, ushort.MaxValue),
                     (127, 128, 255, 256), (1UL << 32, 65536, 65535, 32768), (long.MaxValue, int.MaxValue, 1, 1),
                 })
        {
            var sent = new Frame(Op.Request, mux, seq, deadline, handler, payload: new byte[] { 9 });
            Assert.That(Describe(ReadAll(Encode(sent))[0]), Is.EqualTo(Expected(sent, false)));
        }
    }

    [Test]
    public void Encoder_ignores_caller_subroute_and_checksum_bits()
    {
        var sent = new Frame(Op.Response, 1, flags: FrameFlags.Subroute | FrameFlags.Checksum | FrameFlags.Eof);
        var frame = ReadAll(Encode(sent, checksum: false))[0];
        Assert.That(frame.Flags, Is.EqualTo(FrameFlags.Eof));
        Assert.That(frame.Subroute, Is.Null);
    }

    [Test]
    public void Null_empty_and_non_empty_payloads_stay_distinct()
    {
        var nullFrame = ReadAll(Encode(new Frame(Op.Response, 1)))[0];
        var emptyFrame = ReadAll(Encode(new Frame(Op.Response, 1, flags: FrameFlags.Empty)))[0];
        var emptyArrayWithoutFlag = ReadAll(Encode(new Frame(Op.Response, 1, payload: Array.Empty<byte>())))[0];
        var dataFrame = ReadAll(Encode(new Frame(Op.Response, 1, payload: new byte[] { 0, 255 })))[0];
        Assert.Multiple(() =>
        {
            Assert.That(nullFrame.IsNullPayload, Is.True);
            Assert.That(nullFrame.PayloadToArray(), Is.Null);
            Assert.That(emptyFrame.IsNullPayload, Is.False);
            Assert.That(emptyFrame.PayloadToArray(), Is.Empty);
            Assert.That(emptyArrayWithoutFlag.IsNullPayload, Is.True, "empty without FrameFlags.Empty stands for null");
            Assert.That(dataFrame.PayloadToArray(), Is.EqualTo(new byte[] { 0, 255 }));
        });
    }

    [Test]
    public void Known_layout_without_checksum()
    {
        var bytes = Encode(new Frame(Op.Request, 1, 2, 3, 4, FrameFlags.Eof, new byte[] { 0xAA }));
        Assert.That(bytes, Is.EqualTo(new byte[] { 0x97, 1, 2, 3, 4, (byte)Op.Request, 1, 0xc4, 1, 0xAA }));

        var withSubroute = Encode(new Frame(Op.Request, flags: FrameFlags.Empty, subroute: "ab"));
        Assert.That(withSubroute, Is.EqualTo(new byte[] { 0x98, 0, 0, 0, 0, (byte)Op.Request, 4 | 8, 0xc0, 0xa2, (byte)'a', (byte)'b' }));
    }

    [Test]
    public void Checksum_is_low_32_bits_of_xxhash3_over_the_array()
    {
        var bytes = Encode(new Frame(Op.StreamMessageToClient, 5, 6, payload: new byte[] { 1, 2, 3 }, subroute: "s"), checksum: true);
        var array = bytes.AsSpan(0, bytes.Length - 5).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(array[6], Is.EqualTo((byte)(FrameFlags.Subroute | FrameFlags.Checksum)), "flags byte");
            Assert.That(bytes[^5], Is.EqualTo(MessagePackCode.UInt32));
            Assert.That(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(bytes.Length - 4)),
                Is.EqualTo(unchecked((uint)XxHash3.HashToUInt64(array))));
        });
    }

    [Test]
    public void Checksum_is_right_when_the_output_hands_out_tiny_blocks()
    {
        var sent = new Frame(Op.StreamConnect, ulong.MaxValue, 70_000, 1000, 300, FrameFlags.Empty, subroute: "sub/route");
        var output = new TinyBlockWriter();
        FrameCodec.Write(output, sent, checksum: true);
        var message = output.ToArray();
        Assert.That(output.Blocks, Is.GreaterThan(3));
        Assert.That(message, Is.EqualTo(Encode(sent, checksum: true)));
        Assert.That(Describe(ReadAll(message)[0]), Is.EqualTo(Expected(sent, checksum: true)));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Large_payload_round_trips_as_a_slice(bool checksum)
    {
        var payload = new byte[3 * 1024 * 1024];
        new Random(3).NextBytes(payload);
        var message = Encode(new Frame(Op.StreamMessageToServer, 42, 1, payload: payload), checksum);
        Assert.That(message[7], Is.EqualTo(MessagePackCode.Bin32));
        var frames = ReadAll(message);
        Assert.That(frames, Has.Count.EqualTo(1));
        Assert.That(frames[0].Payload.Span.SequenceEqual(payload), Is.True);
        Assert.That(MemoryMarshal.TryGetArray(frames[0].Payload, out var segment) && ReferenceEquals(segment.Array, message), Is.True);
    }

    [Test]
    public void Subroutes_round_trip_up_to_the_limit()
    {
        foreach (var subroute in new[] { "", "a", "régions/über/日本/🚀", new string('x', ProtocolConstants.MaxSubrouteBytes), new string('é', 128) })
        {
            var sent = new Frame(Op.StreamConnect, 3, handlerId: 12, subroute: subroute);
            Assert.That(ReadAll(Encode(sent))[0].Subroute, Is.EqualTo(subroute));
        }
    }

    [Test]
    public void Write_rejects_invalid_frames()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Multiple(() =>
        {
            Assert.That(() => FrameCodec.Write(output, new Frame(Op.Request, subroute: new string('x', 257)), false), Throws.ArgumentException);
            Assert.That(() => FrameCodec.Write(output, new Frame(Op.Request, subroute: new string('é', 129)), false),
                Throws.ArgumentException.With.Message.Contains("258"));
            Assert.That(() => FrameCodec.Write(output, new Frame(Op.Request, subroute: "a\ud800"), false), Throws.ArgumentException);
            Assert.That(() => FrameCodec.Write(output, new Frame(Op.Merged, seq: 1), false), Throws.ArgumentException.With.Message.Contains("Merged"));
            Assert.That(() => FrameCodec.Write(output, new Frame((Op)0), false), Throws.ArgumentException);
            Assert.That(() => FrameCodec.Write(output, new Frame((Op)20), false), Throws.ArgumentException);
            Assert.That(() => FrameCodec.Write(output, new Frame(Op.Ping, flags: (FrameFlags)128), false), Throws.ArgumentException);
        });
        Assert.That(output.WrittenCount, Is.Zero, "nothing is written for a rejected frame");
    }

    [Test]
    public void Merged_header_has_the_fixed_layout()
    {
        var message = EncodeMerged([new Frame(Op.Ping)]);
        var inner = Encode(new Frame(Op.Ping));
        Assert.That(FrameCodec.MergedHeaderSize, Is.EqualTo(16));
        Assert.That(message.AsSpan(0, 16).ToArray(),
            Is.EqualTo(new byte[] { 0x97, 0, 0xce, 0, 0, 0, 1, 0, 0, (byte)Op.Merged, 0, 0xc6, 0, 0, 0, (byte)inner.Length }));
        Assert.That(message.AsSpan(16).ToArray(), Is.EqualTo(inner));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(300)]
    public void Merged_messages_unpack_in_order(int count)
    {
        var sent = new List<Frame>();
        for (var i = 0; i < count; i++)
        {
            sent.Add(new Frame((Op)(1 + (i % 17)), (ulong)i, (uint)(i * 3), 0, (ushort)i,
                i % 3 == 0 ? FrameFlags.Empty : FrameFlags.None,
                i % 2 == 0 ? default : new byte[] { (byte)i, 1, 2 }, i % 5 == 0 ? "sub" + i : null));
        }

        foreach (var checksum in new Func<int, bool>[] { _ => false, _ => true, i => i % 2 == 1 })
        {
            var message = EncodeMerged(sent, checksum);
            var frames = ReadAll(message);
            Assert.That(frames.Select(f => Describe(f)), Is.EqualTo(sent.Select((f, i) => Expected(f, checksum(i)))));
            Assert.That(frames.TrueForAll(f => IsSliceOf(f.Payload, message)), Is.True);
        }
    }

    [Test]
    public void Frames_after_a_merged_frame_and_concatenated_frames_are_read()
    {
        var merged = EncodeMerged([new Frame(Op.Ping, 1), new Frame(Op.Pong, 2)]);
        var single = Encode(new Frame(Op.Disconnect, payload: new byte[] { 7 }), checksum: true);
        var frames = ReadAll(merged.Concat(single).Concat(single).ToArray());
        Assert.That(frames.Select(f => f.Op), Is.EqualTo(new[] { Op.Ping, Op.Pong, Op.Disconnect, Op.Disconnect }));
    }

    [Test]
    public void Empty_merged_frame_yields_nothing()
    {
        Assert.That(ReadAll(EncodeMerged([])), Is.Empty);
    }

    [Test]
    public void Payloads_are_slices_of_the_message_even_at_an_offset()
    {
        var frame = Encode(new Frame(Op.Response, 9, payload: new byte[] { 1, 2, 3, 4 }));
        var backing = new byte[frame.Length + 20];
        frame.CopyTo(backing, 10);
        var message = new ReadOnlyMemory<byte>(backing, 10, frame.Length);
        var payload = ReadAll(message)[0].Payload;
        Assert.That(MemoryMarshal.TryGetArray(payload, out var segment), Is.True);
        Assert.That(segment.Array, Is.SameAs(backing));
        Assert.That(segment.Offset, Is.EqualTo(10 + frame.Length - 4));
        Assert.That(payload.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void Write_and_read_do_not_allocate()
    {
        using var output = new PooledBufferWriter(1 << 16);
        var payload = new byte[100];
        Frame[] frames = [new(Op.Request, 1, 2, 3000, 4, FrameFlags.Eof, payload), new(Op.StreamMessageToClient, 5, 70_000, payload: payload)];

        long RoundTrip()
        {
            output.Clear();
            FrameCodec.WriteMergedHeader(output);
            for (var i = 0; i < 100; i++)
            {
                FrameCodec.Write(output, frames[i % 2], checksum: i % 3 == 0);
            }

            FrameCodec.CompleteMergedHeader(output.WrittenSpan, 100);
            var reader = new MessageReader(output.WrittenMemory);
            long total = 0;
            while (reader.TryRead(out var frame))
            {
                total += frame.Payload.Length + (long)frame.MuxId;
            }

            return total;
        }

        RoundTrip(); // warm-up: JIT and the thread's hashing writer
        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = RoundTrip();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(total, Is.EqualTo((100 * 100) + (50 * 1) + (50 * 5)));
        Assert.That(allocated, Is.Zero, "bytes allocated writing and reading 100 frames");
    }

    // ---- malformed input: each case names what is wrong ----

    [Test]
    public void Empty_message_is_a_protocol_error()
    {
        AssertProtocolError([], "empty message");
        var reader = default(MessageReader);
        Assert.That(() => reader.TryRead(out _), Throws.TypeOf<ProtocolException>());
    }

    [Test]
    public void Checksum_mismatch_is_detected()
    {
        var message = Encode(new Frame(Op.Request, 1, payload: new byte[] { 1, 2, 3 }), checksum: true);
        message[^7] ^= 0x01; // a payload byte
        AssertProtocolError(message, "checksum mismatch");
        var tampered = Encode(new Frame(Op.Request, 1, payload: new byte[] { 1, 2, 3 }), checksum: true);
        tampered[^1] ^= 0x80; // the checksum itself
        AssertProtocolError(tampered, "checksum mismatch");
    }

    [Test]
    public void Unknown_op_and_flags_are_rejected()
    {
        AssertProtocolError(RawFrame(7, [1, 0, 0, 0, 0, 0, null]), "unknown op 0 at offset 5");
        AssertProtocolError(RawFrame(7, [1, 0, 0, 0, 20, 0, null]), "unknown op 20");
        AssertProtocolError(RawFrame(7, [1, 0, 0, 0, 5, 0x40, null]), "has the trace context flag but only 7 elements");
        AssertProtocolError(RawFrame(7, [1, 0, 0, 0, 5, 0x80 | 1, null]), "unknown flag bits 0x80");
    }

    [Test]
    public void Out_of_range_and_wrongly_typed_fields_are_rejected()
    {
        AssertProtocolError(RawFrame(7, [0, 0, 0, 65536, 5, 0, null]), "handlerId 65536 at offset 4 is out of range");
        AssertProtocolError(RawFrame(7, [0, 1L << 32, 0, 0, 5, 0, null]), "seq 4294967296");
        AssertProtocolError(RawFrame(7, [0, 0, -1L, 0, 5, 0, null]), "deadlineMs -1");
        AssertProtocolError(RawFrame(7, [-5L, 0, 0, 0, 5, 0, null]), "muxId -5");
        AssertProtocolError(RawFrame(7, [0, 0, 0, 0, 5, 256, null]), "flags 256");
        AssertProtocolError(RawFrame(7, ["x", 0, 0, 0, 5, 0, null]), "muxId at offset 1: expected an integer");
        AssertProtocolError(RawFrame(7, [0, 0, 0, 0, 5, 0, "text"]), "payload at offset 7: expected binary or nil");
        AssertProtocolError(Raw((ref MessagePackWriter w) => w.WriteMapHeader(0)), "frame at offset 0: expected an array");
    }

    [Test]
    public void Array_length_and_subroute_flag_must_agree()
    {
        AssertProtocolError(RawFrame(6, [0, 0, 0, 0, 5, 0]), "array of 6 elements");
        AssertProtocolError(RawFrame(10, [0, 0, 0, 0, 5, 8, null, "s", 1, 1]), "array of 10 elements");
        AssertProtocolError(RawFrame(9, [0, 0, 0, 0, 5, 8, null, "s", 1]), "9 elements but no trace context flag");
        AssertProtocolError(RawFrame(7, [0, 0, 0, 0, 5, 8, null]), "subroute flag but only 7");
        AssertProtocolError(RawFrame(8, [0, 0, 0, 0, 5, 0, null, "s"]), "8 elements but no subroute flag");
        AssertProtocolError(RawFrame(8, [0, 0, 0, 0, 5, 8, null, new string('x', 257)]), "subroute at offset 8 is 257 bytes long");
        AssertProtocolError(RawFrame(8, [0, 0, 0, 0, 5, 8, null, null]), "subroute at offset 8: expected a string");
        var badUtf8 = RawFrame(8, [0, 0, 0, 0, 5, 8, null, "ab"]);
        badUtf8[^1] = 0xff;
        AssertProtocolError(badUtf8, "not valid UTF-8");
    }

    [Test]
    public void Truncated_and_lying_lengths_are_rejected()
    {
        var message = Encode(new Frame(Op.Request, 300, payload: new byte[] { 1, 2, 3 }, subroute: "abc"), checksum: true);
        for (var length = 1; length < message.Length; length++)
        {
            AssertProtocolError(message[..length], "truncated");
        }

        var lying = Encode(new Frame(Op.Request, payload: new byte[] { 1, 2, 3 }));
        lying[8] = 200; // bin8 length
        AssertProtocolError(lying, "payload at offset 7 claims 200 bytes but only 3 are left");
        var huge = Encode(new Frame(Op.Request, payload: new byte[] { 1, 2, 3 }));
        AssertProtocolError([.. huge[..7], 0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3], "claims 4294967295 bytes");
        AssertProtocolError([0xdd, 0xff, 0xff, 0xff, 0xff, 0, 0], "array of -1 elements");
    }

    [Test]
    public void Trailing_garbage_after_a_valid_frame_is_rejected()
    {
        var message = Encode(new Frame(Op.Ping)).Concat(new byte[] { 0xc1 }).ToArray();
        var reader = new MessageReader(message);
        Assert.That(reader.TryRead(out var first), Is.True);
        Assert.That(first.Op, Is.EqualTo(Op.Ping));
        Assert.That(() => reader.TryRead(out _), Throws.TypeOf<ProtocolException>().With.Message.Contains("offset 8"));
    }

    [Test]
    public void Merged_count_mismatch_is_rejected()
    {
        Frame[] frames = [new(Op.Ping, 1), new(Op.Pong, 2)];
        AssertProtocolError(EncodeMerged(frames, declaredCount: 3), "declares 3 inner frames but holds 2");
        AssertProtocolError(EncodeMerged(frames, declaredCount: 1), "declares 1 inner frames but has more bytes at offset");
        AssertProtocolError(EncodeMerged(frames, declaredCount: 0), "count mismatch");
    }

    [Test]
    public void Nested_merged_frames_and_merged_frames_with_flags_are_rejected()
    {
        var inner = EncodeMerged([new Frame(Op.Ping)]);
        var outer = new List<byte>(EncodeMerged([]));
        outer.AddRange(inner);
        var nested = outer.ToArray();
        FrameCodec.CompleteMergedHeader(nested, 1);
        AssertProtocolError(nested, "nested merged frame at offset 16");

        var withEof = EncodeMerged([new Frame(Op.Ping)]);
        withEof[10] = (byte)FrameFlags.Eof;
        AssertProtocolError(withEof, "a merged frame carries no flags");

        var withChecksum = EncodeMerged([new Frame(Op.Ping)]);
        withChecksum[10] = (byte)FrameFlags.Checksum;
        var hash = unchecked((uint)XxHash3.HashToUInt64(withChecksum));
        byte[] checksummed = [.. withChecksum, MessagePackCode.UInt32, (byte)(hash >> 24), (byte)(hash >> 16), (byte)(hash >> 8), (byte)hash];
        AssertProtocolError(checksummed, "has flags Checksum; a merged frame carries no flags");
        var withMux = EncodeMerged([new Frame(Op.Ping)]);
        withMux[1] = 5;
        AssertProtocolError(withMux, "mux id 5");
    }

    [Test]
    public void Complete_merged_header_rejects_foreign_spans()
    {
        Assert.That(() => FrameCodec.CompleteMergedHeader(new byte[10], 1), Throws.ArgumentException);
        Assert.That(() => FrameCodec.CompleteMergedHeader(Encode(new Frame(Op.Request, payload: new byte[20])), 1), Throws.ArgumentException);
        Assert.That(() => FrameCodec.CompleteMergedHeader(EncodeMerged([]), -1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
