using System.Buffers.Binary;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Fuzz;

/// <summary>
/// Seeded, structure-blind mutations of corpus inputs for the in-process replay (AFL does its own): bit flips,
/// MessagePack codes, lying lengths, truncations, deletions, duplications, splices, and wrapping in a merged header
/// with a right or wrong count. Each mutation draws from its own generator seeded by (seed, iteration), so one
/// iteration number replays one input.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] InterestingCodes =
    [
        0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x96, 0x97, 0x98, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
        0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc,
        0xdd, 0xde, 0xdf, 0xe0, 0xff, (byte)Op.Merged, 0x08, 0x10, 0x20, 0x40,
    ];

    private static readonly uint[] LyingLengths =
        [0, 1, 2, 7, 8, 9, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x100, 0x101, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

    public static Random IterationRandom(int seed, int iteration) => new(unchecked((seed * 1_000_003) + iteration));

    /// <summary>One to four stacked mutations of a corpus input (another input may be spliced in).</summary>
    public static byte[] Mutate(IReadOnlyList<byte[]> corpus, Random rng)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(rng);
        var data = corpus[rng.Next(corpus.Count)].ToList();
        var steps = rng.Next(1, 5);
        for (var i = 0; i < steps; i++)
        {
            MutateOnce(data, corpus, rng);
        }

        return [.. data];
    }

    private static void MutateOnce(List<byte> data, IReadOnlyList<byte[]> corpus, Random rng)
    {
        if (data.Count == 0)
        {
            data.Add(InterestingCodes[rng.Next(InterestingCodes.Length)]);
            return;
        }

        // Most structure sits in the first bytes of a frame: aim there more often than not.
        int At() => rng.Next(2) == 0 ? rng.Next(Math.Min(data.Count, 24)) : rng.Next(data.Count);
        switch (rng.Next(13))
        {
            case 0:
                data[At()] ^= (byte)(1 << rng.Next(8));
                break;
            case 1:
                data[At()] = InterestingCodes[rng.Next(InterestingCodes.Length)];
                break;
            case 2:
                data[At()] = (byte)rng.Next(256);
                break;
            case 3:
            {
                var cut = rng.Next(data.Count);
                data.RemoveRange(cut, data.Count - cut);
                if (data.Count == 0)
                {
                    data.Add(0x97);
                }

                break;
            }

            case 4:
            {
                var at = rng.Next(data.Count);
                data.RemoveRange(at, rng.Next(1, Math.Min(16, data.Count - at) + 1));
                break;
            }

            case 5:
            {
                var at = rng.Next(data.Count);
                var length = rng.Next(1, Math.Min(32, data.Count - at) + 1);
                data.InsertRange(rng.Next(data.Count + 1), data.GetRange(at, length));
                break;
            }

            case 6:
            {
                // A lying length: a 1, 2 or 4 byte big-endian value where a length or integer may sit.
                var value = LyingLengths[rng.Next(LyingLengths.Length)];
                var size = new[] { 1, 2, 4 }[rng.Next(3)];
                Span<byte> bytes = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
                var at = At();
                for (var i = 0; i < size && at + i < data.Count; i++)
                {
                    data[at + i] = bytes[4 - size + i];
                }

                break;
            }

            case 7:
            {
                // Splice: this input up to a point, then another from a point.
                var other = corpus[rng.Next(corpus.Count)];
                var cut = rng.Next(data.Count + 1);
                data.RemoveRange(cut, data.Count - cut);
                data.AddRange(other.AsSpan(rng.Next(other.Length + 1)).ToArray());
                break;
            }

            case 8:
                data.AddRange(corpus[rng.Next(corpus.Count)]);
                break;
            case 9:
            {
                // Wrap in a merged header, with the count one of right-ish and the length right or not.
                var header = new byte[FrameCodec.MergedHeaderSize];
                var writer = new ArrayWriter(header);
                FrameCodec.WriteMergedHeader(writer);
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(3), (uint)rng.Next(4));
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), rng.Next(4) == 0 ? LyingLengths[rng.Next(LyingLengths.Length)] : (uint)data.Count);
                data.InsertRange(0, header);
                break;
            }

            case 10:
            case 11:
                ReencodeInteger(data, rng);
                break;
            default:
                data.Insert(rng.Next(data.Count + 1), InterestingCodes[rng.Next(InterestingCodes.Length)]);
                break;
        }
    }

    /// <summary>
    /// Finds a MessagePack integer (most fields of a frame or handshake are one) and writes a boundary value in its
    /// place, in an encoding of any width, unsigned or signed: the values on either side of each field's range.
    /// </summary>
    private static void ReencodeInteger(List<byte> data, Random rng)
    {
        var start = rng.Next(data.Count);
        for (var k = 0; k < data.Count; k++)
        {
            var at = (start + k) % data.Count;
            var size = IntegerSize(data[at]);
            if (size == 0 || at + size > data.Count)
            {
                continue;
            }

            data.RemoveRange(at, size);
            data.InsertRange(at, EncodeInteger(BoundaryValues[rng.Next(BoundaryValues.Length)], rng));
            return;
        }
    }

    private static readonly Int128[] BoundaryValues =
    [
        0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
        long.MaxValue, (Int128)long.MaxValue + 1, ulong.MaxValue, -1, -32, -33, -128, -129, int.MinValue, long.MinValue,
        (int)Op.Merged, (int)Op.Merged + 1, 0x3f, 0x40,
    ];

    /// <summary>Bytes of the integer whose code is <paramref name="code"/>, 0 if it is no integer.</summary>
    private static int IntegerSize(byte code) => code switch
    {
        <= 0x7f or >= 0xe0 => 1,
        0xcc or 0xd0 => 2,
        0xcd or 0xd1 => 3,
        0xce or 0xd2 => 5,
        0xcf or 0xd3 => 9,
        _ => 0,
    };

    /// <summary>Encodes <paramref name="value"/> in the smallest form, or a wider or signed one that still holds it.</summary>
    private static byte[] EncodeInteger(Int128 value, Random rng)
    {
        var forms = new List<byte[]>();
        if ((value >= 0 && value <= 0x7f) || (value >= -32 && value < 0))
        {
            forms.Add([(byte)(sbyte)(long)value]);
        }

        void Add(byte code, int size, bool signed)
        {
            var fits = signed
                ? value >= -((Int128)1 << ((size * 8) - 1)) && value < ((Int128)1 << ((size * 8) - 1))
                : value >= 0 && value < ((Int128)1 << (size * 8));
            if (!fits)
            {
                return;
            }

            var bytes = new byte[1 + size];
            bytes[0] = code;
            var bits = (UInt128)value;
            for (var i = 0; i < size; i++)
            {
                bytes[size - i] = (byte)(bits >> (8 * i));
            }

            forms.Add(bytes);
        }

        Add(0xcc, 1, false);
        Add(0xcd, 2, false);
        Add(0xce, 4, false);
        Add(0xcf, 8, false);
        Add(0xd0, 1, true);
        Add(0xd1, 2, true);
        Add(0xd2, 4, true);
        Add(0xd3, 8, true);
        return forms.Count == 0 ? [0xc0] : forms[rng.Next(forms.Count)];
    }

    /// <summary>Writes into one fixed array (the merged header template).</summary>
    private sealed class ArrayWriter(byte[] target) : System.Buffers.IBufferWriter<byte>
    {
        private int _written;

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => target.AsMemory(_written);

        public Span<byte> GetSpan(int sizeHint = 0) => target.AsSpan(_written);
    }
}
