namespace Grid.Reactive;

/// <summary>Per-frame flags. One byte on the wire; an unknown bit is a protocol error.</summary>
[Flags]
public enum FrameFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>End of stream: the sender will send no more messages in this direction.</summary>
    Eof = 1,

    /// <summary>The payload is a UTF-8 error text rather than data.</summary>
    Error = 2,

    /// <summary>The payload is empty rather than null (both are written as nil on the wire).</summary>
    Empty = 4,

    /// <summary>The frame carries a subroute after the payload. Set by the encoder when <see cref="Frame.Subroute"/> is not null.</summary>
    Subroute = 8,

    /// <summary>A checksum (low 32 bits of xxHash3 over the frame's encoding) follows the frame. Set by the encoder when asked to.</summary>
    Checksum = 16,

    /// <summary>With <see cref="Error"/>: the error is that no handler is registered for the handler id and subroute.</summary>
    HandlerNotFound = 32,

    /// <summary>
    /// The frame carries the caller's W3C trace context after the subroute (<see cref="Frame.TraceContext"/>). Set by
    /// the encoder, on request and stream-open frames only, and only to a peer that said in its handshake it reads it.
    /// </summary>
    TraceContext = 64,
}
