using System.Diagnostics;
using Grid.Reactive.Diagnostics;
using Grid.Reactive.Protocol;
using static Grid.Reactive.Tests.Protocol.FrameTestHelpers;

namespace Grid.Reactive.Tests.Protocol;

public sealed class TraceContextFieldTests
{
    private static byte[] Context(string state = "")
    {
        using var activity = new Activity("t").SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        if (state.Length > 0)
        {
            activity.TraceStateString = state;
        }

        activity.Start();
        return TraceContextCodec.Encode(activity)!;
    }

    [Test]
    public void ARequestOrStreamOpen_CarriesItsTraceContext_AfterTheSubroute_WithAndWithoutChecksum()
    {
        var context = Context("vendor=abc,other=1");
        foreach (var checksum in new[] { false, true })
        {
            foreach (var frame in new[]
                     {
                         new Frame(Op.Request, 1, deadlineMs: 100, handlerId: 5, payload: new byte[] { 1, 2 }) { TraceContext = context },
                         new Frame(Op.StreamConnect, 2, handlerId: 6, flags: FrameFlags.Empty, subroute: "disk-3") { TraceContext = context },
                     })
            {
                var read = ReadAll(Encode(frame, checksum)).Single();
                Assert.That(Describe(read), Is.EqualTo(Expected(frame, checksum)));
                Assert.That((read.Flags & FrameFlags.TraceContext) != 0, Is.True);
            }
        }
    }

    [Test]
    public void TheFastReader_ReadsATracedFrame_AsTheFullReaderDoes()
    {
        var context = Context("k=v");
        foreach (var frame in new[]
                 {
                     new Frame(Op.Request, 1, deadlineMs: 100, handlerId: 5, payload: new byte[] { 1, 2 }) { TraceContext = context },
                     new Frame(Op.StreamConnect, 2, handlerId: 6, flags: FrameFlags.Empty, subroute: "disk-3") { TraceContext = context },
                 })
        {
            var message = Encode(frame);
            Assert.That(FastFrameReader.TryRead(message, 0, message.Length, out var fast, out var next, out _), Is.True);
            Assert.That(next, Is.EqualTo(message.Length));
            Assert.That(Describe(fast), Is.EqualTo(Describe(MessageReader.ReadFrameFully(message, 0, message.Length, out _, out _))));
        }
    }

    [Test]
    public void TheDecodedContext_IsTheCallersW3CContext_WithItsTraceState()
    {
        using var activity = new Activity("t").SetIdFormat(ActivityIdFormat.W3C).Start();
        activity.TraceStateString = "congo=t61rcWkgMzE";
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        var read = ReadAll(Encode(new Frame(Op.Request, 1, handlerId: 5) { TraceContext = TraceContextCodec.Encode(activity) })).Single();

        Assert.That(TraceContextCodec.TryDecode(read.TraceContext.Span, out var context), Is.True);
        Assert.That(context.TraceId, Is.EqualTo(activity.TraceId));
        Assert.That(context.SpanId, Is.EqualTo(activity.SpanId));
        Assert.That(context.TraceFlags, Is.EqualTo(ActivityTraceFlags.Recorded));
        Assert.That(context.TraceState, Is.EqualTo("congo=t61rcWkgMzE"));
        Assert.That(context.IsRemote, Is.True);
    }

    [Test]
    public void AFrameWithoutTheField_IsReadAsBefore_SoOldSendersStillTalk()
    {
        var old = new byte[] { 0x97, 0x01, 0x00, 0x00, 0x05, 0x05, 0x00, 0xc0 }; // [1, 0, 0, 5, Request, 0, nil]
        var read = ReadAll(old).Single();
        Assert.That(read.TraceContext.IsEmpty, Is.True);
        Assert.That(read.Op, Is.EqualTo(Op.Request));
    }

    [Test]
    public void AMalformedField_IsAProtocolError()
    {
        AssertProtocolError(RawFrame(8, [1, 0, 0, 5, 5, 64, null, null]), "traceContext at offset 8 is nil");
        AssertProtocolError(RawFrame(8, [1, 0, 0, 5, 5, 64, null, new byte[24]]), "is 24 bytes long; it holds at least 25");
        AssertProtocolError(RawFrame(8, [1, 0, 0, 5, 5, 64, null, new byte[TraceContextCodec.MaxBytes + 1]]), "at most 537 are allowed");
        AssertProtocolError(RawFrame(8, [1, 0, 0, 5, 5, 64, null, "text"]), "traceContext at offset 8: expected binary or nil");
        AssertProtocolError(RawFrame(8, [1, 0, 0, 5, 3, 64, null, new byte[25]]), "Ping frame at offset 0 carries a trace context");
        AssertProtocolError(RawFrame(8, [1, 0, 0, 5, 5, 64, null, new byte[25]])[..^3], "claims 25 bytes but only 22 are left");
    }

    [Test]
    public void AWellFormedButInvalidContext_IsIgnored_NotAnError()
    {
        var zeros = new byte[25];
        var read = ReadAll(RawFrame(8, [1, 0, 0, 5, 5, 64, null, zeros])).Single();
        Assert.That(TraceContextCodec.TryDecode(read.TraceContext.Span, out _), Is.False, "all-zero ids are invalid W3C");

        var badState = Context();
        badState = [.. badState, 0x07, 0xff];
        Assert.That(TraceContextCodec.TryDecode(badState, out _), Is.False, "tracestate must be printable ASCII");
        Assert.That(TraceContextCodec.TryDecode(Context("a=b"), out _), Is.True);
    }

    [Test]
    public void TheEncoder_RefusesAContextOnOtherFrames_OrOfTheWrongSize()
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.That(() => FrameCodec.Write(output, new Frame(Op.Response, 1) { TraceContext = new byte[25] }, false), Throws.ArgumentException);
        Assert.That(() => FrameCodec.Write(output, new Frame(Op.Request, 1) { TraceContext = new byte[3] }, false), Throws.ArgumentException);
        Assert.That(output.WrittenCount, Is.Zero);
    }

    [Test]
    public void RandomBytesInTheField_NeverThrowAnythingButAProtocolException()
    {
        var rng = new Random(11);
        for (var i = 0; i < 20_000; i++)
        {
            var frame = new Frame(Op.Request, 1, handlerId: 5, subroute: rng.Next(2) == 0 ? "s" : null)
            {
                TraceContext = RandomBytes(rng, rng.Next(TraceContextCodec.FixedBytes, 80)),
            };
            var message = Encode(frame, rng.Next(2) == 0);
            for (var flips = rng.Next(1, 4); flips > 0; flips--)
            {
                message[rng.Next(message.Length)] = (byte)rng.Next(256);
            }

            try
            {
                foreach (var read in ReadAll(message))
                {
                    TraceContextCodec.TryDecode(read.TraceContext.Span, out _);
                }
            }
            catch (ProtocolException)
            {
            }
        }
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }
}
