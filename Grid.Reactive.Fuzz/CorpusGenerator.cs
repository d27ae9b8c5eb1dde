using System.Buffers;
using Grid.Reactive.Protocol;
using MessagePack;

namespace Grid.Reactive.Fuzz;

/// <summary>One seed input: the target it is for, a file name and its bytes.</summary>
internal sealed record Seed(string Target, string Name, byte[] Bytes);

/// <summary>
/// Makes the seed corpus from real encodings: frames of every op written by <see cref="FrameCodec"/> (with and without
/// payload, subroute, trace context and checksum, small and wide integers), merged messages, frames back to back, hellos
/// (Connect), challenges and proofs written by <see cref="HandshakeCodec"/> or by hand, a few valid but unusual MessagePack encodings the full
/// reader must handle, and truncations. Deterministic: the same bytes on every run.
/// </summary>
internal static class CorpusGenerator
{
    public static IEnumerable<(string Target, byte[] Bytes)> Generate() => Seeds().Select(s => (s.Target, s.Bytes));

    /// <summary>Writes the corpus under <paramref name="root"/>/&lt;target&gt;/, replacing the files it made before.</summary>
    public static int Write(string root)
    {
        var count = 0;
        foreach (var group in Seeds().GroupBy(s => s.Target))
        {
            var dir = Path.Combine(root, group.Key);
            Directory.CreateDirectory(dir);
            foreach (var seed in group)
            {
                File.WriteAllBytes(Path.Combine(dir, seed.Name + ".bin"), seed.Bytes);
                count++;
            }
        }

        return count;
    }

    public static IEnumerable<Seed> Seeds() => FrameSeeds().Select(s => new Seed("frames", s.Name, s.Bytes))
        .Concat(HandshakeSeeds().Select(s => new Seed("handshake", s.Name, s.Bytes)));

    /// <summary>A fixed W3C context in the trace-context field's layout (trace id, span id, flags, tracestate).</summary>
    private static byte[] TraceContext(string state) =>
    [
        .. Convert.FromHexString("0af7651916cd43dd8448eb211c80319c"), .. Convert.FromHexString("b7ad6b7169203331"), 1,
        .. System.Text.Encoding.ASCII.GetBytes(state),
    ];

    private static IEnumerable<(string Name, byte[] Bytes)> FrameSeeds()
    {
        byte[] small = [1, 2, 3, 4, 5];
        var medium = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray(); // bin16
        var handshake = HandshakeCodec.Encode(SampleHandshake());

        var frames = new List<(string Name, Frame Frame)>
        {
            ("connect", new Frame(Op.Connect, payload: handshake)),
            ("connect-response", new Frame(Op.ConnectResponse, payload: HandshakeCodec.Encode(new HandshakeChallenge(ProtocolConstants.Version, 7, new byte[HandshakeCodec.NonceBytes])))),
            ("connect-refused", new Frame(Op.ConnectResponse, flags: FrameFlags.Error, payload: "refused: auth"u8.ToArray())),
            ("connect-proof", new Frame(Op.ConnectProof, payload: HandshakeCodec.EncodeProof(new byte[32]))),
            ("connect-proof-refused", new Frame(Op.ConnectProof, flags: FrameFlags.Error, payload: "refused: auth"u8.ToArray())),
            ("ping", new Frame(Op.Ping)),
            ("pong-stream", new Frame(Op.Pong, muxId: 7)),
            ("pong-gone", new Frame(Op.Pong, muxId: 7, flags: FrameFlags.Error, payload: "gone"u8.ToArray())),
            ("request", new Frame(Op.Request, muxId: 1, deadlineMs: 60_000, handlerId: 1, payload: small)),
            ("request-empty", new Frame(Op.Request, muxId: 2, deadlineMs: 1_000, handlerId: 300, flags: FrameFlags.Empty)),
            ("request-null", new Frame(Op.Request, muxId: 3, handlerId: 65_535)),
            ("request-subroute", new Frame(Op.Request, muxId: 4, deadlineMs: 200, handlerId: 9, payload: small, subroute: "disk-3")),
            ("request-traced", new Frame(Op.Request, muxId: 6, deadlineMs: 200, handlerId: 9, payload: small) { TraceContext = TraceContext("") }),
            ("request-traced-subroute-state", new Frame(Op.Request, muxId: 7, handlerId: 9, subroute: "disk-3") { TraceContext = TraceContext("vendor=abc,other=1") }),
            ("request-long-subroute", new Frame(Op.Request, muxId: 5, handlerId: 9, subroute: new string('s', 40))),
            ("request-wide", new Frame(Op.Request, muxId: ulong.MaxValue, seq: uint.MaxValue, deadlineMs: uint.MaxValue, handlerId: 40_000, payload: medium)),
            ("request-mux32", new Frame(Op.Request, muxId: 70_000, handlerId: 2, payload: small)),
            ("response", new Frame(Op.Response, muxId: 1, payload: small)),
            ("response-error", new Frame(Op.Response, muxId: 1, flags: FrameFlags.Error, payload: "boom"u8.ToArray())),
            ("response-not-found", new Frame(Op.Response, muxId: 1, flags: FrameFlags.Error | FrameFlags.HandlerNotFound, payload: "no handler"u8.ToArray())),
            ("request-cancel", new Frame(Op.RequestCancel, muxId: 1)),
            ("stream-connect", new Frame(Op.StreamConnect, muxId: 10, deadlineMs: 30_000, handlerId: 4, payload: small, subroute: "a")),
            ("stream-connect-traced", new Frame(Op.StreamConnect, muxId: 11, handlerId: 4, flags: FrameFlags.Empty) { TraceContext = TraceContext("k=v") }),
            ("stream-ack", new Frame(Op.StreamAck, muxId: 10, seq: 64)),
            ("stream-connect-error", new Frame(Op.StreamConnectError, muxId: 10, flags: FrameFlags.Error, payload: "refused"u8.ToArray())),
            ("stream-to-server", new Frame(Op.StreamMessageToServer, muxId: 10, seq: 1, payload: small)),
            ("stream-to-client", new Frame(Op.StreamMessageToClient, muxId: 10, seq: 200, payload: medium)),
            ("credit-to-server", new Frame(Op.StreamCreditToServer, muxId: 10, seq: 32)),
            ("credit-to-client", new Frame(Op.StreamCreditToClient, muxId: 10, seq: 1)),
            ("close-to-server-eof", new Frame(Op.StreamCloseToServer, muxId: 10, seq: 5, flags: FrameFlags.Eof)),
            ("close-to-client-error", new Frame(Op.StreamCloseToClient, muxId: 10, flags: FrameFlags.Error, payload: "handler failed"u8.ToArray())),
            ("close-to-client-cancel", new Frame(Op.StreamCloseToClient, muxId: 10)),
            ("disconnect", new Frame(Op.Disconnect, payload: "shutting down"u8.ToArray())),
            ("disconnect-going-away", new Frame(Op.Disconnect, flags: FrameFlags.Eof)),
        };

        foreach (var (name, frame) in frames)
        {
            yield return (name, Encode(frame, checksum: false));
        }

        // Checksums on a few: the fast reader declines these, the full reader verifies them.
        foreach (var (name, frame) in frames.Where((_, i) => i % 4 == 1))
        {
            yield return (name + "-checksum", Encode(frame, checksum: true));
        }

        var request = frames.Single(f => f.Name == "request").Frame;
        var message = frames.Single(f => f.Name == "stream-to-client").Frame;
        var credit = frames.Single(f => f.Name == "credit-to-server").Frame;
        var subroute = frames.Single(f => f.Name == "request-subroute").Frame;

        yield return ("merged-2", EncodeMerged([request, credit]));
        yield return ("merged-5-checksums", EncodeMerged([request, subroute, credit, frames[3].Frame, frames[13].Frame], checksumEvery: 2));
        yield return ("merged-1-large", EncodeMerged([message]));
        yield return ("merged-empty", EncodeMerged([]));
        yield return ("merged-then-frame", [.. EncodeMerged([request, credit]), .. Encode(credit, checksum: false)]);
        yield return ("frames-back-to-back", [.. Encode(request, checksum: false), .. Encode(subroute, checksum: true), .. Encode(credit, checksum: false)]);
        yield return ("merged-count-too-high", EncodeMerged([request, credit], declaredCount: 3));

        // Valid but unusual encodings: the fast reader stands aside and the full reader reads them.
        yield return ("signed-fields", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(ProtocolConstants.FrameFields);
            w.WriteInt64(1); // int64 form of muxId 1
            w.WriteInt32(0);
            w.WriteInt16(100);
            w.WriteInt8(1);
            w.WriteUInt16((ushort)Op.Request);
            w.WriteUInt8(0);
            w.Write([9, 9]);
        }));
        yield return ("array16-header", Raw((ref MessagePackWriter w) =>
        {
            w.WriteRaw([MessagePackCode.Array16, 0, ProtocolConstants.FrameFields]);
            w.Write(1); w.Write(0); w.Write(0); w.Write(0); w.Write((byte)Op.Ping); w.Write(0); w.WriteNil();
        }));
        yield return ("subroute-str16", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(ProtocolConstants.FrameFieldsWithSubroute);
            w.Write(1); w.Write(0); w.Write(0); w.Write(1); w.Write((byte)Op.Request); w.Write((byte)FrameFlags.Subroute); w.WriteNil();
            w.WriteRaw([MessagePackCode.Str16, 0, 3, (byte)'a', (byte)'b', (byte)'c']);
        }));

        // Limits: the largest subroute (256 bytes, written as str16), one byte over it, a payload in bin32 form, and a
        // merged frame whose payload length claims 4 GiB.
        yield return ("request-subroute-max", Encode(new Frame(Op.Request, muxId: 6, handlerId: 9, subroute: new string('m', ProtocolConstants.MaxSubrouteBytes)), checksum: false));
        yield return ("subroute-too-long", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(ProtocolConstants.FrameFieldsWithSubroute);
            w.Write(1); w.Write(0); w.Write(0); w.Write(1); w.Write((byte)Op.Request); w.Write((byte)FrameFlags.Subroute); w.WriteNil();
            w.Write(new string('x', ProtocolConstants.MaxSubrouteBytes + 1));
        }));
        yield return ("payload-bin32", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(ProtocolConstants.FrameFields);
            w.Write(1); w.Write(0); w.Write(0); w.Write(0); w.Write((byte)Op.Response); w.Write(0);
            w.WriteRaw([MessagePackCode.Bin32, 0, 0, 0, 3, 7, 8, 9]);
        }));
        var lying = EncodeMerged([request]);
        lying.AsSpan(12, 4).Fill(0xff);
        yield return ("merged-length-4g", lying);

        // Truncations of real messages: inside the header, inside the payload, inside the checksum.
        var wide = Encode(frames.Single(f => f.Name == "request-wide").Frame, checksum: true);
        yield return ("truncated-header", wide[..7]);
        yield return ("truncated-payload", wide[..40]);
        yield return ("truncated-checksum", wide[..^2]);
        var merged = EncodeMerged([request, subroute, credit]);
        yield return ("truncated-merged", merged[..^5]);
    }

    private static IEnumerable<(string Name, byte[] Bytes)> HandshakeSeeds()
    {
        var sample = SampleHandshake();
        var full = HandshakeCodec.Encode(sample);
        yield return ("hello", full);
        yield return ("hello-wide", HandshakeCodec.Encode(sample with
        {
            Version = int.MinValue,
            ClockUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(),
            InstanceId = ulong.MaxValue,
            Nonce = Enumerable.Range(0, HandshakeCodec.NonceBytes).Select(i => (byte)(255 - i)).ToArray(),
            MaxMessageSize = int.MaxValue,
            MaxCallsInFlight = int.MaxValue,
        }));
        yield return ("hello-empty-fields", HandshakeCodec.Encode(new HandshakeMessage(0, "", "", DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), 0,
            new byte[HandshakeCodec.NonceBytes])));
        yield return ("hello-unicode", HandshakeCodec.Encode(sample with { From = "nœud-1.exemple:7000", To = "ノード2:7000" }));

        var challenge = new HandshakeChallenge(ProtocolConstants.Version, 0xfedc_ba98_7654_3210, sample.Nonce.Reverse().ToArray(), 16 * 1024 * 1024, 8192);
        yield return ("challenge", HandshakeCodec.Encode(challenge));
        yield return ("challenge-zero", HandshakeCodec.Encode(new HandshakeChallenge(0, 0, new byte[HandshakeCodec.NonceBytes])));
        yield return ("proof", HandshakeCodec.EncodeProof(Enumerable.Range(0, 32).Select(i => (byte)(i * 11)).ToArray()));
        yield return ("proof-rotation", HandshakeCodec.EncodeProof(new byte[64]));
        yield return ("proof-max", HandshakeCodec.EncodeProof(new byte[HandshakeCodec.MaxTokenBytes]));
        yield return ("proof-empty", HandshakeCodec.EncodeProof([]));

        // The version 1 hello: six fields, a token where the nonce goes. Refused for its shape, after its version.
        yield return ("hello-v1-six-fields", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(6);
            w.Write(1);
            w.Write(sample.From);
            w.Write(sample.To);
            w.Write(sample.ClockUnixMs);
            w.Write(sample.InstanceId);
            w.Write(new byte[32]);
        }));

        // Limits: the largest address, one byte over it, a nonce of the wrong length, a clock outside DateTimeOffset, a
        // version outside int, a nil nonce, a proof one byte too long, and an array of 7.
        yield return ("address-max", HandshakeCodec.Encode(sample with { From = new string('a', HandshakeCodec.MaxAddressBytes) }));
        yield return ("address-too-long", RawHandshake(sample, 8, from: new string('a', HandshakeCodec.MaxAddressBytes + 1)));
        yield return ("nonce-short", RawHandshake(sample, 8, nonce: new byte[HandshakeCodec.NonceBytes - 1]));
        yield return ("nonce-long", RawHandshake(sample, 8, nonce: new byte[HandshakeCodec.NonceBytes + 1]));
        yield return ("clock-out-of-range", RawHandshake(sample, 8, clock: long.MaxValue));
        yield return ("version-int64", RawHandshake(sample, 8, version: long.MinValue));
        yield return ("nonce-nil", RawHandshake(sample, 8, nilNonce: true));
        yield return ("seven-fields", RawHandshake(sample, 7));
        yield return ("proof-too-long", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(1);
            w.Write(new byte[HandshakeCodec.MaxTokenBytes + 1]);
        }));
        yield return ("truncated-in-nonce", full[..^6]);
        yield return ("truncated-in-address", full[..10]);
        yield return ("trailing-byte", [.. full, 0]);
    }

    /// <summary>A hello written field by field, so that fields may be what the encoder refuses to write.</summary>
    private static byte[] RawHandshake(HandshakeMessage m, int fields, long? version = null, string? from = null,
        long? clock = null, byte[]? nonce = null, bool nilNonce = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(fields);
        w.Write(version ?? m.Version);
        w.Write(from ?? m.From);
        w.Write(m.To);
        w.Write(clock ?? m.ClockUnixMs);
        w.Write(m.InstanceId);
        if (nilNonce)
        {
            w.WriteNil();
        }
        else
        {
            w.Write((nonce ?? m.Nonce).AsSpan());
        }

        for (var i = 6; i < fields; i++)
        {
            w.Write(i * 1000);
        }

        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static HandshakeMessage SampleHandshake() => new(ProtocolConstants.Version, "10.0.0.1:7000", "10.0.0.2:7000",
        1_764_633_600_000, 0x1234_5678_9abc_def0, Enumerable.Range(0, HandshakeCodec.NonceBytes).Select(i => (byte)(i * 7)).ToArray(),
        MaxMessageSize: 16 * 1024 * 1024, MaxCallsInFlight: 1024);

    private static byte[] Encode(in Frame frame, bool checksum)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameCodec.Write(buffer, frame, checksum);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] EncodeMerged(IReadOnlyList<Frame> frames, int checksumEvery = 0, int? declaredCount = null)
    {
        using var writer = new PooledBufferWriter(64);
        FrameCodec.WriteMergedHeader(writer);
        for (var i = 0; i < frames.Count; i++)
        {
            FrameCodec.Write(writer, frames[i], checksumEvery > 0 && i % checksumEvery == 0);
        }

        FrameCodec.CompleteMergedHeader(writer.WrittenSpan, declaredCount ?? frames.Count);
        return writer.WrittenMemory.ToArray();
    }

    private delegate void RawWrite(ref MessagePackWriter writer);

    private static byte[] Raw(RawWrite write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
