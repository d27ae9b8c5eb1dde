using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Grid.Reactive.FaultRun;

/// <summary>
/// What travels, and how the load node checks it. A request is [seq:8][count:4][random bytes]. An echo answer is
/// [seq:8][SHA-256 of the whole request:32][responder's address]; a stream message is [seq:8][index:4][responder's
/// address]. An answer that does not match its own request, or comes from the wrong node, is a wrong answer.
/// </summary>
internal static class Payloads
{
    public static readonly HandlerId Echo = new(1);
    public static readonly HandlerId Numbers = new(2);

    public static byte[] Request(long seq, int count, Random random)
    {
        var payload = new byte[12 + random.Next(0, 1024)];
        random.NextBytes(payload.AsSpan(12));
        BinaryPrimitives.WriteInt64LittleEndian(payload, seq);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), count);
        return payload;
    }

    public static byte[] EchoAnswer(byte[] request, string responder)
    {
        var address = Encoding.UTF8.GetBytes(responder);
        var answer = new byte[8 + 32 + address.Length];
        request.AsSpan(0, 8).CopyTo(answer);
        SHA256.HashData(request, answer.AsSpan(8, 32));
        address.CopyTo(answer.AsSpan(40));
        return answer;
    }

    public static bool IsEchoAnswer(byte[] request, byte[] answer, string peer)
    {
        if (answer.Length < 40 || !answer.AsSpan(0, 8).SequenceEqual(request.AsSpan(0, 8)))
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(request, hash);
        return answer.AsSpan(8, 32).SequenceEqual(hash) && answer.AsSpan(40).SequenceEqual(Encoding.UTF8.GetBytes(peer));
    }

    public static int Count(byte[] request) => request.Length >= 12 ? BinaryPrimitives.ReadInt32LittleEndian(request.AsSpan(8)) : 0;

    public static byte[] StreamMessage(byte[] request, int index, string responder)
    {
        var address = Encoding.UTF8.GetBytes(responder);
        var message = new byte[12 + address.Length];
        request.AsSpan(0, 8).CopyTo(message);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(8), index);
        address.CopyTo(message.AsSpan(12));
        return message;
    }

    /// <summary>The index a stream message carries, or -1 if it is not one of this request's messages from that peer.</summary>
    public static int StreamIndex(byte[] request, byte[] message, string peer) =>
        message.Length >= 12 && message.AsSpan(0, 8).SequenceEqual(request.AsSpan(0, 8))
            && message.AsSpan(12).SequenceEqual(Encoding.UTF8.GetBytes(peer))
            ? BinaryPrimitives.ReadInt32LittleEndian(message.AsSpan(8))
            : -1;
}
