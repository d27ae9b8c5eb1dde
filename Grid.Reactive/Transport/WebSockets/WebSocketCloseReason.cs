using System.Net.WebSockets;
using System.Text;

namespace Grid.Reactive.Transport;

/// <summary>Maps why a link closes to the status and short description of its WebSocket close frame.</summary>
internal static class WebSocketCloseReason
{
    /// <summary>A close frame's description holds at most 123 bytes of UTF-8.</summary>
    private const int MaxDescriptionBytes = 123;

    /// <summary>The close frame for <paramref name="reason"/>: normal for null, else a status by kind and the error's message.</summary>
    public static (WebSocketCloseStatus Status, string Description) For(Exception? reason) => reason switch
    {
        null => (WebSocketCloseStatus.NormalClosure, string.Empty),
        ProtocolException => (WebSocketCloseStatus.ProtocolError, Truncate(reason.Message)),
        DisconnectedException => (WebSocketCloseStatus.EndpointUnavailable, Truncate(reason.Message)),
        _ => (WebSocketCloseStatus.InternalServerError, Truncate(reason.Message)),
    };

    /// <summary>The error a receiver reports for the peer's close frame: null for an orderly close.</summary>
    public static DisconnectedException? FromPeer(string link, WebSocketCloseStatus? status, string? description)
    {
        if (status is null or WebSocketCloseStatus.NormalClosure or WebSocketCloseStatus.Empty)
        {
            return null;
        }

        var detail = string.IsNullOrEmpty(description) ? string.Empty : $": {description}";
        return new DisconnectedException($"{link}: the peer closed the link ({status}{detail}).");
    }

    private static string Truncate(string text)
    {
        if (Encoding.UTF8.GetByteCount(text) <= MaxDescriptionBytes)
        {
            return text;
        }

        const string Ellipsis = "...";
        var length = Math.Min(text.Length, MaxDescriptionBytes - Ellipsis.Length);
        while (length > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, length)) > MaxDescriptionBytes - Ellipsis.Length)
        {
            length--;
        }

        if (length > 0 && char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return string.Concat(text.AsSpan(0, length), Ellipsis);
    }
}
