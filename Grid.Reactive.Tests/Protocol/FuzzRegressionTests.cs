using Grid.Reactive.Protocol;
using static Grid.Reactive.Tests.Protocol.FrameTestHelpers;

namespace Grid.Reactive.Tests.Protocol;

/// <summary>
/// Inputs from the coverage-guided campaigns of <c>Grid.Reactive.Fuzz</c> (AFL++ over the SharpFuzz-instrumented
/// library), inline as hex. The campaigns found no crash and no hang: every input ended in frames or a
/// <see cref="ProtocolException"/>. What is kept here are the hostile shapes AFL reached on its own (lying counts and
/// lengths, signed and oversized integers, truncations at each field, broken UTF-8), each pinned to the reason it is
/// refused for, and a few it accepted, so that the decoders go on treating them the same way. A crash or hang found by
/// a later campaign goes here first, with its input, before the decoder is fixed.
/// </summary>
public sealed class FuzzRegressionTests
{
    private const long AllocationAllowance = 64 * 1024;

    // (found as, input, the reason's text). Found by: afl.sh frames, 300 s, 8.4 million executions.
    private static readonly (string Name, string Hex, string Reason)[] RefusedFrames =
    [
        ("merged frame declaring 1.8 billion inner frames (seq as int32) with an empty payload",
            "9700D26E001E0300001200C500009700E8FF0100", "declares 1845501443 inner frames but holds 0"),
        ("merged frame declaring 0 inner frames over 24 bytes of them",
            "9700CE0000000000001200C600000018970100CDEA60010500C4050102030405970A201F000D00C0", "declares 0 inner frames but has more bytes"),
        ("fixarray of 10", "9A0D0514", "array of 10 elements"),
        ("muxId as uint64 cut after 5 of its 8 bytes", "97CFFFFFFFFFFF", "muxId at offset 1 runs past the end"),
        ("muxId -1 as a negative fixint", "97FFFF05", "muxId -1 at offset 1 is out of range"),
        ("deadline -1 as int32", "9703D22FFFE3FFFF", "deadlineMs -1 at offset 7 is out of range"),
        ("op 52685 as uint16", "97CDCDCDCDCDCDCDCDCDCDCDCDCDCDCD", "op 52685 at offset 13 is out of range"),
        ("seq as uint64 over uint32", "9708CFBA32BABAFFFF6220", "seq 13416991552211739168 at offset 2 is out of range"),
        ("subroute of one byte that is not UTF-8", "980A00CD7530040808C4050102030405A19703FF", "subroute at offset 16 is not valid UTF-8"),
        ("subroute claiming a byte past the end", "980A02CD7530040808C4050102030405A1", "subroute at offset 16 claims 1 bytes but only 0 are left"),
        ("eight elements without the subroute flag", "98030000CDC3C00500", "has 8 elements but no subroute flag"),
        ("checksum flag with the checksum as a fixint", "97200000000610C4050102030405000F", "Checksum mismatch in the frame at offset 0"),
        // Flag 0x40 became FrameFlags.TraceContext: the same bytes are now refused for their element count.
        ("subroute and trace-context flags on 7 elements", "97030000CDFFFF056CC0", "has the subroute flag but only 7 elements"),
        ("a map where the flags go", "9700CE0000000300001200C600000018970100CDEA6001058FC4050602030405970A3600000100CD", "flags at offset 24: expected an integer"),
        ("merged frame with a handler id", "9700CE0000000300641200C600000018970100CDEA60010510C4052102030406970A2000000D00C0", "handler 100; all must be 0"),
        ("merged frame with the subroute flag", "98010000011208C0D90098010000010508C0D1DA", "has flags Subroute"),
    ];

    // Found by: afl.sh handshake, 300 s, 6.7 million executions, against the version 1 hello (an array of 6 or 8);
    // carried over to the version 2 hello (an array of exactly 8 with a 32-byte nonce) by making each an array of 8.
    private static readonly (string Name, string Hex, string Reason)[] RefusedHandshakes =
    [
        ("array32 header cut after its first byte", "DDDD", "handshake at offset 0 runs past the end"),
        ("a lone fixarray", "98", "version at offset 1 runs past the end"),
        ("array of 5", "95EDAD31", "array of 5 elements"),
        ("array of 6, the version 1 hello without limits", "962ED900D9000001C400", "array of 6 elements; expected 8"),
        ("version as a bin32", "98C6AD31", "version at offset 1: expected an integer"),
        ("version as uint32 over int", "98CEAD3130A3302E", "version 2905682083 at offset 1 is out of range"),
        ("from as str16 claiming 12592 bytes", "9801DA31302E302C", "from at offset 2 claims 12592 bytes but only 3 are left"),
        ("to as str32 claiming 4 GiB", "9801AD31302E302E2B2E313A37303030DBFFFFFFD2D9", "to at offset 16 claims 4294967250 bytes but only 1 are left"),
        ("from that is not UTF-8", "9801ADC4302E302E0000019AB6BDC4CB", "from at offset 2 is not valid UTF-8"),
        ("clock outside DateTimeOffset", "9800A0A0D3FF96018C939AA1A8AFB6BD", "clockUnixMs -29834644247895640 at offset 4 is outside the range"),
        ("instanceId -1", "98FFA0A0F1FFFFC7", "instanceId -1 at offset 5 is out of range"),
        ("an empty nonce, as version 1 sent an empty token", "982ED900D9000001C4000000", "nonce at offset 8 is 0 bytes long; expected 32"),
        ("a trailing byte after a minimal hello", SmallestHello + "E1", "Trailing bytes after the handshake at offset 44"),
    ];

    // [46, "" as str8, "" as str8, 0, 1, 32 zero bytes, 0, 0]: the smallest hello, by hand after AFL's smallest version 1 one.
    private const string SmallestHello = "982ED900D9000001C420" + "0000000000000000000000000000000000000000000000000000000000000000" + "0000";

    private static IEnumerable<TestCaseData> RefusedFrameCases() =>
        RefusedFrames.Select(c => new TestCaseData(c.Hex, c.Reason).SetName($"Frames_refused: {c.Name}"));

    private static IEnumerable<TestCaseData> RefusedHandshakeCases() =>
        RefusedHandshakes.Select(c => new TestCaseData(c.Hex, c.Reason).SetName($"Handshake_refused: {c.Name}"));

    [TestCaseSource(nameof(RefusedFrameCases))]
    public void Frame_inputs_found_by_AFL_are_refused_for_their_reason(string hex, string reason)
    {
        var message = Convert.FromHexString(hex);
        AssertProtocolError(message, reason);
        AssertFastReaderAgrees(message);
    }

    [TestCaseSource(nameof(RefusedHandshakeCases))]
    public void Handshake_inputs_found_by_AFL_are_refused_for_their_reason(string hex, string reason) =>
        Assert.That(() => HandshakeCodec.Decode(Convert.FromHexString(hex)),
            Throws.TypeOf<ProtocolException>().With.Message.Contains(reason), hex);

    [Test]
    public void The_smallest_hello_is_accepted_and_round_trips()
    {
        var message = HandshakeCodec.Decode(Convert.FromHexString(SmallestHello));
        Assert.That((message.Version, message.From, message.To, message.ClockUnixMs, message.InstanceId, message.Nonce.Length,
            message.MaxMessageSize, message.MaxCallsInFlight), Is.EqualTo((46, "", "", 0L, 1UL, 32, 0, 0)));

        var again = HandshakeCodec.Decode(HandshakeCodec.Encode(message));
        Assert.That(again with { Nonce = message.Nonce }, Is.EqualTo(message));
        Assert.That(again.Nonce, Is.EqualTo(message.Nonce));
    }

    [TestCase("97000000000300C0", TestName = "Frames_accepted: the smallest ping")]
    [TestCase("9700CE0000000200001200C60000001097000000000300C097000000000400C0", TestName = "Frames_accepted: a merged ping and pong")]
    public void Frame_inputs_AFL_accepted_read_the_same_through_both_readers(string hex)
    {
        var message = Convert.FromHexString(hex);
        Assert.That(ReadAll(message), Is.Not.Empty);
        AssertFastReaderAgrees(message);
    }

    [TestCase("97010000000600C6FFFFFFFF00", TestName = "Claims_do_not_allocate: a frame payload claiming 4 GiB")]
    [TestCase("9700CE0000000100001200C6FFFFFFFF97000000000300C0", TestName = "Claims_do_not_allocate: a merged payload claiming 4 GiB")]
    [TestCase("DDFFFFFFFF00", TestName = "Claims_do_not_allocate: a frame array claiming 4 billion elements")]
    public void Lengths_the_input_claims_are_never_allocated(string hex)
    {
        var message = Convert.FromHexString(hex);
        Assert.That(() => ReadAll(message), Throws.TypeOf<ProtocolException>()); // warm up: first-use statics
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<ProtocolException>(() => ReadAll(message));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(AllocationAllowance));
    }

    [TestCase("9801AD31302E302E2B2E313A37303030DBFFFFFFD2D9", TestName = "Claims_do_not_allocate: a handshake address claiming 4 GiB")]
    [TestCase("9801A0A00000C6FFFFFFFF00", TestName = "Claims_do_not_allocate: a handshake nonce claiming 4 GiB")]
    [TestCase("DDFFFFFFFF01", TestName = "Claims_do_not_allocate: a handshake array claiming 4 billion elements")]
    public void Handshake_lengths_the_input_claims_are_never_allocated(string hex)
    {
        var payload = Convert.FromHexString(hex);
        Assert.Throws<ProtocolException>(() => HandshakeCodec.Decode(payload)); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<ProtocolException>(() => HandshakeCodec.Decode(payload));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(AllocationAllowance));
    }

    /// <summary>Whatever the fast reader accepts at the start of the message, the full reader reads the same way.</summary>
    private static void AssertFastReaderAgrees(byte[] message)
    {
        if (!FastFrameReader.TryRead(message, 0, message.Length, out var fast, out var fastNext, out var fastPayload))
        {
            return;
        }

        var full = MessageReader.ReadFrameFully(message, 0, message.Length, out var fullNext, out var fullPayload);
        Assert.That((Describe(fast), fastNext, fastPayload), Is.EqualTo((Describe(full), fullNext, fullPayload)));
    }
}
