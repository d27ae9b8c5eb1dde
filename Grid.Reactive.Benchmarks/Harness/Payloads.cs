using System.Buffers.Binary;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// How every system's payloads look, so each answer can be checked: the first 8 bytes hold a sequence number (little
/// endian), the next 4 the worker's lane, the rest a fixed pattern. A system that loses, mixes up or corrupts answers
/// fails its checks instead of reporting a speed.
/// </summary>
public static class Payloads
{
    /// <summary>Bytes at the start of a payload that vary per call (sequence and lane).</summary>
    public const int HeaderBytes = 12;

    /// <summary>Every how many calls or messages the whole payload is compared, not only its header.</summary>
    public const int FullCheckEvery = 16;

    /// <summary>A new payload of <paramref name="size"/> bytes for <paramref name="lane"/>, pattern filled, sequence 0.</summary>
    public static byte[] Create(int size, int lane)
    {
        var payload = new byte[Math.Max(size, HeaderBytes)];
        FillPattern(payload);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), lane);
        return payload;
    }

    /// <summary>Fills everything after the header with the fixed pattern.</summary>
    public static void FillPattern(Span<byte> payload)
    {
        for (var i = HeaderBytes; i < payload.Length; i++)
        {
            payload[i] = (byte)((i * 7) + 3);
        }
    }

    /// <summary>Writes the sequence number.</summary>
    public static void Stamp(Span<byte> payload, long sequence) => BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);

    /// <summary>Reads the sequence number; -1 when the message is too short to hold one.</summary>
    public static long SequenceOf(ReadOnlySpan<byte> payload) =>
        payload.Length < 8 ? -1 : BinaryPrimitives.ReadInt64LittleEndian(payload);

    /// <summary>
    /// Checks an echo answer against the request: same length and sequence always, every byte every
    /// <see cref="FullCheckEvery"/> calls.
    /// </summary>
    public static bool IsEcho(ReadOnlySpan<byte> answer, ReadOnlySpan<byte> request, long sequence) =>
        answer.Length == request.Length
        && SequenceOf(answer) == sequence
        && (sequence % FullCheckEvery != 0 || answer.SequenceEqual(request));

    /// <summary>
    /// Checks a stream message: its sequence must be <paramref name="expected"/> and, every
    /// <see cref="FullCheckEvery"/> messages, the pattern after the header must be intact.
    /// </summary>
    public static bool IsStreamMessage(ReadOnlySpan<byte> message, int size, long expected)
    {
        if (message.Length != size || SequenceOf(message) != expected)
        {
            return false;
        }

        if (expected % FullCheckEvery != 0)
        {
            return true;
        }

        for (var i = HeaderBytes; i < message.Length; i++)
        {
            if (message[i] != (byte)((i * 7) + 3))
            {
                return false;
            }
        }

        return true;
    }
}
