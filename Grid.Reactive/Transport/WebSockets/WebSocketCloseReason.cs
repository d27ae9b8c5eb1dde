using System.Net.WebSockets;

namespace Grid.Reactive.Transport;

/// <summary>Maps why a link closes to the status and short description of its WebSocket close frame.</summary>
internal static class WebSocketCloseReason
{
    /// <summary>
    /// The close frame for <paramref name="reason"/>: normal for null, else a status by kind with a fixed description.
    /// The error's own message never goes on the wire (the peer may not be authenticated, and messages name internal
    /// state); it is in this node's log.
    /// </summary>
    public static (WebSocketCloseStatus Status, string Description) For(Exception? reason) => reason switch
    {
        null => (WebSocketCloseStatus.NormalClosure, string.Empty),
        ProtocolException => (WebSocketCloseStatus.ProtocolError, "protocol error"),
        DisconnectedException => (WebSocketCloseStatus.EndpointUnavailable, "closing"),
        _ => (WebSocketCloseStatus.InternalServerError, "internal error"),
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
}
