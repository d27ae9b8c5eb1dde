using Grid.Reactive.Protocol;
using static Grid.Reactive.Tests.Protocol.FrameTestHelpers;

namespace Grid.Reactive.Tests.Protocol;

/// <summary>
/// The fast reader is an optimisation only: whatever it accepts, the full reader must read the same way, and on
/// everything else it must stand aside. Checked differentially on seeded valid frames and their mutations.
/// </summary>
public sealed class FastFrameReaderTests
{
    private static readonly Op[] Ops = [.. Enum.GetValues<Op>().Where(o => o != Op.Merged)];

    private static Frame RandomFrame(Random rng)
    {
        var payload = rng.Next(4) switch
        {
            0 => [],
            1 => new byte[rng.Next(1, 40)],
            2 => new byte[rng.Next(200, 70_000)],
            _ => new byte[rng.Next(1, 300)],
        };
        rng.NextBytes(payload);
        var flags = (FrameFlags)(rng.Next(8) & (int)(FrameFlags.Eof | FrameFlags.Error | FrameFlags.Empty)) | (rng.Next(10) == 0 ? FrameFlags.HandlerNotFound : 0);
        ulong Integer() => rng.Next(4) switch
        {
            0 => (ulong)rng.Next(128),
            1 => (ulong)rng.Next(256, 65_536),
            2 => (ulong)rng.NextInt64(1L << 16, 1L << 32),
            _ => (ulong)rng.NextInt64(),
        };
        return new Frame(Ops[rng.Next(Ops.Length)], Integer(), (uint)(Integer() & uint.MaxValue), (uint)(Integer() & uint.MaxValue),
            (ushort)(Integer() & ushort.MaxValue), flags, payload, rng.Next(5) == 0 ? new string('s', rng.Next(1, 60)) : null);
    }

    private static void AssertAgrees(byte[] message, string context)
    {
        if (!FastFrameReader.TryRead(message, 0, message.Length, out var fast, out var fastNext, out var fastPayload))
        {
            return;
        }

        Frame full;
        int fullNext;
        int fullPayload;
        try
        {
            full = MessageReader.ReadFrameFully(message, 0, message.Length, out fullNext, out fullPayload);
        }
        catch (ProtocolException ex)
        {
            Assert.Fail($"{context}: the fast reader accepted what the full reader refuses ({ex.Message}): {Convert.ToHexString(message)}");
            return;
        }

        Assert.That(Describe(fast), Is.EqualTo(Describe(full)), context);
        Assert.That(fast.Payload.ToArray(), Is.EqualTo(full.Payload.ToArray()), context);
        Assert.That((fastNext, fastPayload), Is.EqualTo((fullNext, fullPayload)), context);
    }

    [Test]
    public void OnValidFrames_ItReadsEverythingTheGridWrites_ExactlyAsTheFullReader()
    {
        var rng = new Random(11);
        for (var i = 0; i < 3000; i++)
        {
            var frame = RandomFrame(rng);
            var message = Encode(frame);
            Assert.That(FastFrameReader.TryRead(message, 0, message.Length, out _, out _, out _), Is.True, $"frame {i}: {Describe(frame)}");
            AssertAgrees(message, $"frame {i}");
        }
    }

    [Test]
    public void OnMutatedFrames_ItNeverAcceptsWhatTheFullReaderWouldReadOtherwise()
    {
        var rng = new Random(12);
        for (var i = 0; i < 30_000; i++)
        {
            var message = Encode(RandomFrame(rng), checksum: rng.Next(4) == 0);
            switch (rng.Next(3))
            {
                case 0:
                    message = message[..rng.Next(message.Length)];
                    break;
                case 1:
                    var at = rng.Next(Math.Min(message.Length, 40));
                    message[at] ^= (byte)(1 << rng.Next(8));
                    break;
                default:
                    message[rng.Next(Math.Min(message.Length, 40))] = (byte)rng.Next(256);
                    break;
            }

            AssertAgrees(message, $"mutation {i}");
        }
    }
}
