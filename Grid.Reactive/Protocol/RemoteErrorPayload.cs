using System.Buffers;
using System.Text;
using MessagePack;

namespace Grid.Reactive.Protocol;

/// <summary>
/// The payload of a handler's error (an error <see cref="Op.Response"/>, a <see cref="Op.StreamConnectError"/> or an
/// error <see cref="Op.StreamCloseToClient"/>): the message as UTF-8, then the byte <c>0xFF</c>, then a MessagePack
/// array <c>[errorCode (str), remoteType (str|nil)]</c>. Later versions may append elements; readers ignore them.
/// </summary>
/// <remarks>
/// Older nodes send the message only. UTF-8 never contains the byte 0xFF, so the first 0xFF tells the two apart
/// without any flag or negotiation, and an older node reading the new layout still shows the message first (followed
/// by a few replacement characters and the code and type as text). Stack traces and inner exceptions never cross.
/// </remarks>
internal static class RemoteErrorPayload
{
    /// <summary>Longest exception type name sent, in characters; a longer one is cut.</summary>
    public const int MaxTypeNameChars = 512;

    private const byte Separator = 0xFF;

    /// <summary>Encodes a handler's exception: its message, its code and its type's full name.</summary>
    /// <param name="error">What the handler threw.</param>
    /// <param name="peerMaxPayload">
    /// The most the peer accepts in one frame's payload (<see cref="Connections.GridContext.PayloadLimit"/>). An error
    /// frame carries no subroute, so it may use the subroute's room too; only a message longer than that is cut.
    /// </param>
    public static byte[] Encode(Exception error, int peerMaxPayload)
    {
        var code = error switch
        {
            GridErrorException coded => coded.ErrorCode,
            PayloadException => RemoteErrorCodes.InvalidPayload,
            _ => RemoteErrorCodes.Unhandled,
        };
        var type = error.GetType().FullName ?? error.GetType().Name;
        if (type.Length > MaxTypeNameChars)
        {
            type = type[..MaxTypeNameChars];
        }

        return Encode(error.Message, code, type, peerMaxPayload + ProtocolConstants.MaxSubrouteBytes);
    }

    /// <summary>Encodes a message, code and type (see the type's summary for the layout).</summary>
    /// <param name="message">The message.</param>
    /// <param name="code">The error code.</param>
    /// <param name="type">The exception's type name, or null.</param>
    /// <param name="maxBytes">The most the whole payload may take: a longer message is cut, at a character boundary, to fit.</param>
    public static byte[] Encode(string message, string code, string? type, int maxBytes)
    {
        var trailer = new ArrayBufferWriter<byte>(64);
        trailer.GetSpan(1)[0] = Separator;
        trailer.Advance(1);
        var writer = new MessagePackWriter(trailer);
        writer.WriteArrayHeader(2);
        writer.Write(code);
        writer.Write(type);
        writer.Flush();

        var text = Encoding.UTF8.GetBytes(message);
        var kept = text.Length;
        var room = Math.Max(0, maxBytes - trailer.WrittenCount);
        if (kept > room)
        {
            // Cut at a character boundary: back off over continuation bytes (10xxxxxx).
            kept = room;
            while (kept > 0 && (text[kept] & 0xC0) == 0x80)
            {
                kept--;
            }
        }

        var payload = new byte[kept + trailer.WrittenCount];
        text.AsSpan(0, kept).CopyTo(payload);
        trailer.WrittenSpan.CopyTo(payload.AsSpan(kept));
        return payload;
    }

    /// <summary>Reads an error payload of either layout; never throws. Code and type are null for an older node's plain text.</summary>
    public static (string Message, string? Code, string? Type) Decode(ReadOnlySpan<byte> payload)
    {
        var separator = payload.IndexOf(Separator);
        if (separator < 0)
        {
            return (Encoding.UTF8.GetString(payload), null, null);
        }

        var message = Encoding.UTF8.GetString(payload[..separator]);
        try
        {
            var reader = new MessagePackReader(payload[(separator + 1)..].ToArray());
            var count = reader.ReadArrayHeader();
            if (count < 2)
            {
                return (message, null, null);
            }

            var code = reader.ReadString();
            var type = reader.ReadString();
            return (message, code, type);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException or DecoderFallbackException)
        {
            return (message, null, null);
        }
    }

    /// <summary>The <see cref="RemoteException"/> an error payload stands for.</summary>
    /// <param name="payload">The payload.</param>
    /// <param name="whenEmpty">The message to use when the payload says nothing, or null to keep it empty.</param>
    public static RemoteException ToException(ReadOnlySpan<byte> payload, string? whenEmpty = null)
    {
        var (message, code, type) = Decode(payload);
        if (message.Length == 0 && whenEmpty is not null)
        {
            message = whenEmpty;
        }

        return new RemoteException(message, code, type);
    }
}
