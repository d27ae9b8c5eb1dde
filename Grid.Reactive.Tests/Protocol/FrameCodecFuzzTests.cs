using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Grid.Reactive.Protocol;
using NUnit.Framework;
using static Grid.Reactive.Tests.Protocol.FrameTestHelpers;

namespace Grid.Reactive.Tests.Protocol;

/// <summary>
/// Seeded fuzzing of the frame codec. To replay a failure, run the failing test with the seed from its message:
/// <c>dotnet test --filter Name~Mutations -- TestRunParameters.Parameter(name="FuzzSeed", value="123")</c>.
/// Each iteration draws from its own generator seeded by (seed, iteration), so the iteration number pins down the input.
/// For a longer soak, raise the mutation count the same way with the parameter <c>FuzzMutations</c>.
/// </summary>
[TestFixture]
public sealed class FrameCodecFuzzTests
{
    private const int DefaultSeed = 20_240_611;
    private const int RoundTripFrames = 4_000;
    private const int RoundTripMergedMessages = 400;
    private const int BaseMessages = 300;
    private const int DefaultMutations = 120_000;

    private static readonly byte[] InterestingCodes =
    [
        0x00, 0x7f, 0x80, 0x8f, 0x90, 0x96, 0x97, 0x98, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
        0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
        0xe0, 0xff, (byte)Op.Merged, 0x12, 0x40,
    ];

    private static readonly uint[] LyingLengths = [0, 1, 2, 7, 8, 9, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

    private static int Seed => TestContext.Parameters.Get("FuzzSeed", DefaultSeed);

    private static int Mutations => TestContext.Parameters.Get("FuzzMutations", DefaultMutations);

    private static Random IterationRandom(int seed, int iteration) => new(unchecked((seed * 1_000_003) + iteration));

    [Test]
    public void Random_valid_frames_round_trip()
    {
        var seed = Seed;
        for (var i = 0; i < RoundTripFrames; i++)
        {
            var rng = IterationRandom(seed, i);
            var frame = RandomFrame(rng, allowLarge: true);
            var checksum = rng.Next(2) == 0;
            var message = Encode(frame, checksum);
            var read = ReadAll(message);
            if (read.Count != 1 || Describe(read[0]) != Expected(frame, checksum) || !IsSliceOf(read[0].Payload, message))
            {
                Assert.Fail($"Round trip failed: seed={seed} iteration={i}: sent {Expected(frame, checksum)}, read [{string.Join("; ", read.Select(f => Describe(f)))}]");
            }
        }

        for (var i = 0; i < RoundTripMergedMessages; i++)
        {
            var rng = IterationRandom(seed, RoundTripFrames + i);
            var frames = new Frame[rng.Next(1, 30)];
            var checksums = new bool[frames.Length];
            for (var j = 0; j < frames.Length; j++)
            {
                frames[j] = RandomFrame(rng, allowLarge: j == 0);
                checksums[j] = rng.Next(2) == 0;
            }

            var message = EncodeMerged(frames, j => checksums[j]);
            var read = ReadAll(message);
            var expected = frames.Select((f, j) => Expected(f, checksums[j])).ToList();
            if (!read.Select(f => Describe(f)).SequenceEqual(expected) || !read.TrueForAll(f => IsSliceOf(f.Payload, message)))
            {
                Assert.Fail($"Merged round trip failed: seed={seed} iteration={RoundTripFrames + i} ({frames.Length} frames)");
            }
        }
    }

    [Test]
    public void Mutations_yield_frames_or_protocol_exceptions()
    {
        var seed = Seed;
        var watch = Stopwatch.StartNew();
        var corpus = BuildCorpus(seed);
        int inputs = 0, accepted = 0, rejected = 0;

        // Every prefix of every base message: truncation at every kind of point.
        foreach (var (message, _) in corpus)
        {
            for (var length = 0; length < message.Length; length++)
            {
                Check(message[..length], $"seed={seed} truncation of a {message.Length}-byte base to {length} bytes");
            }
        }

        var mutations = Mutations;
        for (var i = 0; i < mutations; i++)
        {
            var rng = IterationRandom(seed, i);
            var (message, tokens) = corpus[rng.Next(corpus.Count)];
            var kinds = new StringBuilder();
            var mutated = rng.Next(20) == 0 ? Garbage(rng, kinds) : Mutate(rng, message, tokens, corpus, kinds);
            Check(mutated, $"seed={seed} iteration={i} mutations={kinds}");
        }

        watch.Stop();
        TestContext.Out.WriteLine($"Fuzzed {inputs} inputs ({accepted} accepted, {rejected} rejected) in {watch.Elapsed.TotalSeconds:F2} s, seed {seed}.");
        Assert.That(inputs, Is.GreaterThanOrEqualTo(Math.Min(mutations, 100_000)));
        Assert.That(rejected, Is.GreaterThan(inputs / 2), "most mutations should be caught");
        Assert.That(accepted, Is.GreaterThan(0), "some mutations (e.g. of payload bytes) are still valid frames");

        void Check(byte[] input, string context)
        {
            inputs++;

            // Read from the middle of a larger array so any read outside the message would be noticed.
            var backing = new byte[input.Length + 16];
            Array.Fill(backing, (byte)0xc1);
            input.CopyTo(backing, 8);
            var memory = new ReadOnlyMemory<byte>(backing, 8, input.Length);
            try
            {
                foreach (var frame in ReadAll(memory))
                {
                    if (frame.Op is < Op.Connect or Op.Merged or > Op.ConnectProof || (frame.Flags & ~FrameCodec.KnownFlags) != 0
                        || !IsSliceOf(frame.Payload, memory)
                        || (frame.Subroute is not null && Encoding.UTF8.GetByteCount(frame.Subroute) > ProtocolConstants.MaxSubrouteBytes)
                        || ((frame.Flags & FrameFlags.TraceContext) != 0) == frame.TraceContext.IsEmpty
                        || (!frame.TraceContext.IsEmpty && (frame.Op is not (Op.Request or Op.StreamConnect) || !IsSliceOf(frame.TraceContext, memory)
                            || frame.TraceContext.Length is < Grid.Reactive.Diagnostics.TraceContextCodec.FixedBytes or > Grid.Reactive.Diagnostics.TraceContextCodec.MaxBytes)))
                    {
                        Assert.Fail($"Invalid frame accepted: {context}: {Describe(frame)} from input {Convert.ToHexString(input)}");
                    }
                }

                accepted++;
            }
            catch (ProtocolException ex)
            {
                rejected++;
                if (ex.Message.StartsWith("Malformed frame", StringComparison.Ordinal))
                {
                    // The decoder checks types and lengths before MessagePack sees them; its backstop (which wraps
                    // MessagePack's own exceptions in a vaguer message) should never be needed.
                    Assert.Fail($"Backstop reached: {context}: {ex.Message}; input {Convert.ToHexString(input)}");
                }
            }
            catch (Exception ex) when (ex is not AssertionException)
            {
                Assert.Fail($"{ex.GetType().Name} instead of ProtocolException: {context}; input {Convert.ToHexString(input)}\n{ex}");
            }
        }
    }

    // ---- generators ----

    private static Frame RandomFrame(Random rng, bool allowLarge)
    {
        var op = (Op)rng.Next((int)Op.Connect, (int)Op.Merged);
        var flags = (FrameFlags)rng.Next(64) & ~EncoderFlags;
        ReadOnlyMemory<byte> payload = rng.Next(10) switch
        {
            0 or 1 or 2 => default,
            3 => Array.Empty<byte>(),
            9 when allowLarge && rng.Next(10) == 0 => RandomBytes(rng, rng.Next(60_000, 70_000)),
            9 => RandomBytes(rng, rng.Next(200, 400)),
            _ => RandomBytes(rng, rng.Next(1, 40)),
        };
        return new Frame(op, RandomInteger(rng, ulong.MaxValue), (uint)RandomInteger(rng, uint.MaxValue),
            (uint)RandomInteger(rng, uint.MaxValue), (ushort)RandomInteger(rng, ushort.MaxValue), flags, payload,
            rng.Next(3) == 0 ? RandomSubroute(rng) : null)
        {
            // Requests and stream opens may carry a trace context (random bytes: the decoder only checks its length).
            TraceContext = op is Op.Request or Op.StreamConnect && rng.Next(3) == 0
                ? RandomBytes(rng, rng.Next(Grid.Reactive.Diagnostics.TraceContextCodec.FixedBytes, Grid.Reactive.Diagnostics.TraceContextCodec.FixedBytes + 40))
                : default,
        };
    }

    private static ulong RandomInteger(Random rng, ulong max)
    {
        ulong[] boundaries = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, max];
        var value = rng.Next(3) == 0 ? boundaries[rng.Next(boundaries.Length)] : (ulong)rng.NextInt64() >> rng.Next(64);
        return Math.Min(value, max);
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static string RandomSubroute(Random rng)
    {
        string[] pieces = ["a", "Z", "/", "-", "é", "ü", "日", "本", "🚀"];
        var builder = new StringBuilder();
        var target = rng.Next(4) == 0 ? ProtocolConstants.MaxSubrouteBytes : rng.Next(0, 40);
        while (true)
        {
            var piece = pieces[rng.Next(pieces.Length)];
            if (Encoding.UTF8.GetByteCount(builder.ToString()) + Encoding.UTF8.GetByteCount(piece) > target)
            {
                return builder.ToString();
            }

            builder.Append(piece);
        }
    }

    /// <summary>Valid messages with the offsets of their MessagePack tokens (inner frames of merged messages included).</summary>
    private static List<(byte[] Message, List<int> Tokens)> BuildCorpus(int seed)
    {
        var rng = new Random(seed);
        var corpus = new List<(byte[], List<int>)>();
        for (var i = 0; i < BaseMessages; i++)
        {
            var kind = rng.Next(20);
            var parts = new List<(byte[] Bytes, bool Merged)>();
            if (kind < 10 || kind >= 17)
            {
                parts.Add((Encode(RandomFrame(rng, false), rng.Next(2) == 0), false));
            }

            if (kind >= 10)
            {
                var frames = new Frame[rng.Next(kind >= 17 ? 1 : 0, 8)];
                for (var j = 0; j < frames.Length; j++)
                {
                    frames[j] = RandomFrame(rng, false);
                }

                parts.Add((EncodeMerged(frames, _ => rng.Next(3) == 0), true));
            }

            var message = parts.SelectMany(p => p.Bytes).ToArray();
            var tokens = new List<int>();
            var offset = 0;
            foreach (var (part, merged) in parts)
            {
                var end = WalkValues(part, 0, part.Length, offset, tokens);
                if (merged)
                {
                    WalkValues(part, FrameCodec.MergedHeaderSize, part.Length, offset, tokens);
                }

                Assert.That(end, Is.EqualTo(part.Length), "corpus walker");
                offset += part.Length;
            }

            corpus.Add((message, tokens));
        }

        return corpus;
    }

    /// <summary>Records the offset of every token of the valid MessagePack values in [pos, end).</summary>
    private static int WalkValues(byte[] m, int pos, int end, int baseOffset, List<int> tokens)
    {
        while (pos < end)
        {
            pos = WalkValue(m, pos, baseOffset, tokens);
        }

        return pos;
    }

    private static int WalkValue(byte[] m, int pos, int baseOffset, List<int> tokens)
    {
        tokens.Add(baseOffset + pos);
        var code = m[pos];
        switch (code)
        {
            case <= 0x7f or >= 0xe0 or 0xc0 or 0xc2 or 0xc3:
                return pos + 1;
            case >= 0x90 and <= 0x9f:
                pos++;
                for (var i = 0; i < (code & 0x0f); i++)
                {
                    pos = WalkValue(m, pos, baseOffset, tokens);
                }

                return pos;
            case >= 0xa0 and <= 0xbf:
                return pos + 1 + (code & 0x1f);
            case 0xcc or 0xd0: return pos + 2;
            case 0xcd or 0xd1: return pos + 3;
            case 0xce or 0xd2: return pos + 5;
            case 0xcf or 0xd3: return pos + 9;
            case 0xc4 or 0xd9: return pos + 2 + m[pos + 1];
            case 0xc5 or 0xda: return pos + 3 + BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(pos + 1));
            case 0xc6 or 0xdb: return pos + 5 + (int)BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(pos + 1));
            default: throw new InvalidOperationException($"unexpected code 0x{code:x2} in a valid message");
        }
    }

    private static byte[] Garbage(Random rng, StringBuilder kinds)
    {
        kinds.Append("garbage");
        var bytes = RandomBytes(rng, rng.Next(0, 80));
        if (bytes.Length > 0 && rng.Next(2) == 0)
        {
            bytes[0] = (byte)(0x90 | rng.Next(16)); // looks like an array, to get past the first check
        }

        return bytes;
    }

    private static byte[] Mutate(Random rng, byte[] original, List<int> tokens, List<(byte[] Message, List<int> Tokens)> corpus, StringBuilder kinds)
    {
        var bytes = new List<byte>(original);
        var count = rng.Next(1, 4);
        for (var m = 0; m < count && bytes.Count > 0; m++)
        {
            var kind = rng.Next(10);
            kinds.Append(kind).Append(' ');
            var at = rng.Next(bytes.Count);
            var token = tokens[rng.Next(tokens.Count)];
            switch (kind)
            {
                case 0: // truncate
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 1: // bit flip
                    bytes[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 2: // random byte
                    bytes[at] = (byte)rng.Next(256);
                    break;
                case 3: // an interesting code where a token starts, or anywhere
                    bytes[rng.Next(2) == 0 && token < bytes.Count ? token : at] = InterestingCodes[rng.Next(InterestingCodes.Length)];
                    break;
                case 4: // a lying length in the header of the token
                    if (token < bytes.Count)
                    {
                        LieAboutLength(rng, bytes, token);
                    }

                    break;
                case 5: // insert a lying header or an over-wide integer
                    bytes.InsertRange(rng.Next(2) == 0 && token <= bytes.Count ? token : at, RandomHeader(rng));
                    break;
                case 6: // delete a range
                    bytes.RemoveRange(at, Math.Min(rng.Next(1, 9), bytes.Count - at));
                    break;
                case 7: // duplicate a range
                    var length = Math.Min(rng.Next(1, 20), bytes.Count - at);
                    bytes.InsertRange(rng.Next(bytes.Count + 1), bytes.GetRange(at, length));
                    break;
                case 8: // splice with another message
                    var other = corpus[rng.Next(corpus.Count)].Message;
                    bytes.RemoveRange(at, bytes.Count - at);
                    bytes.AddRange(other.AsSpan(rng.Next(other.Length)).ToArray());
                    break;
                default: // append random bytes
                    bytes.AddRange(RandomBytes(rng, rng.Next(1, 12)));
                    break;
            }
        }

        return [.. bytes];
    }

    private static void LieAboutLength(Random rng, List<byte> bytes, int token)
    {
        var lie = rng.Next(3) == 0 ? (uint)rng.NextInt64(0, 1L << 32) : LyingLengths[rng.Next(LyingLengths.Length)];
        var code = bytes[token];
        var width = code switch
        {
            0xc4 or 0xd9 => 1,
            0xc5 or 0xda or 0xdc or 0xde => 2,
            0xc6 or 0xdb or 0xdd or 0xdf or 0xce => 4, // 0xce: the merged count, among others
            _ => 0,
        };
        if (width == 0)
        {
            if (code is >= 0x90 and <= 0x9f)
            {
                bytes[token] = (byte)(0x90 | (lie & 0x0f));
            }
            else if (code is >= 0xa0 and <= 0xbf)
            {
                bytes[token] = (byte)(0xa0 | (lie & 0x1f));
            }

            return;
        }

        for (var i = 0; i < width && token + 1 + i < bytes.Count; i++)
        {
            bytes[token + 1 + i] = (byte)(lie >> (8 * (width - 1 - i)));
        }
    }

    private static byte[] RandomHeader(Random rng)
    {
        var header = rng.Next(8) switch
        {
            0 => new byte[] { 0xc6, 0, 0, 0, 0 },
            1 => [0xdb, 0, 0, 0, 0],
            2 => [0xdd, 0, 0, 0, 0],
            3 => [0xcf, 0, 0, 0, 0, 0, 0, 0, 0],
            4 => [0xd3, 0, 0, 0, 0, 0, 0, 0, 0],
            5 => [0xc4, 0],
            6 => [0xc7, 0, 0],
            _ => [(byte)(0x90 | rng.Next(16))],
        };
        var lie = LyingLengths[rng.Next(LyingLengths.Length)];
        for (var i = 1; i < header.Length; i++)
        {
            header[i] = rng.Next(2) == 0 ? (byte)rng.Next(256) : (byte)(lie >> (8 * ((header.Length - 1 - i) % 4)));
        }

        return header;
    }
}
