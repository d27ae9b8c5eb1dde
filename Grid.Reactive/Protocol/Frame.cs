using System.Globalization;

namespace Grid.Reactive;

/// <summary>
/// One protocol frame: the unit the grid multiplexes over a connection. Frames are what the
/// <see cref="Connection.FramesIn"/> and <see cref="Connection.FramesOut"/> traces show.
/// </summary>
/// <remarks>
/// A frame seen in a trace may point into a pooled transport buffer: read <see cref="Payload"/> inside the
/// <c>OnNext</c> call and copy it if it must outlive that call.
/// </remarks>
public readonly struct Frame
{
    /// <summary>Creates a frame.</summary>
    /// <param name="op">What the frame asks the receiver to do.</param>
    /// <param name="muxId">The request or stream this frame belongs to; 0 for connection-level frames.</param>
    /// <param name="seq">Sequence number (stream messages), count (credit, merged) or 0.</param>
    /// <param name="deadlineMs">Milliseconds the receiver has to answer; 0 for none.</param>
    /// <param name="handlerId">The handler a request or stream is for; 0 for other frames.</param>
    /// <param name="flags">Frame flags. <see cref="FrameFlags.Subroute"/>, <see cref="FrameFlags.Checksum"/> and <see cref="FrameFlags.TraceContext"/> are managed by the encoder.</param>
    /// <param name="payload">The payload. Empty with <see cref="FrameFlags.Empty"/> means an empty array, without it null.</param>
    /// <param name="subroute">The handler's static subroute, or null.</param>
    public Frame(Op op, ulong muxId = 0, uint seq = 0, uint deadlineMs = 0, ushort handlerId = 0,
        FrameFlags flags = FrameFlags.None, ReadOnlyMemory<byte> payload = default, string? subroute = null)
    {
        Op = op;
        MuxId = muxId;
        Seq = seq;
        DeadlineMs = deadlineMs;
        HandlerId = handlerId;
        Flags = flags;
        Payload = payload;
        Subroute = subroute;
    }

    /// <summary>What the frame asks the receiver to do.</summary>
    public Op Op { get; }

    /// <summary>The request or stream this frame belongs to; 0 for connection-level frames.</summary>
    public ulong MuxId { get; }

    /// <summary>Sequence number (stream messages), count (credit grants, merged frames) or 0.</summary>
    public uint Seq { get; }

    /// <summary>Milliseconds the receiver has to answer a request or stream; 0 for none.</summary>
    public uint DeadlineMs { get; }

    /// <summary>The handler a request or stream is for; 0 for other frames.</summary>
    public ushort HandlerId { get; }

    /// <summary>Frame flags.</summary>
    public FrameFlags Flags { get; }

    /// <summary>The payload bytes (possibly a slice of a transport buffer; see the type's remarks).</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The handler's static subroute, or null.</summary>
    public string? Subroute { get; }

    /// <summary>
    /// The caller's W3C trace context on a request or stream-open frame (<see cref="FrameFlags.TraceContext"/>), empty
    /// for none: <c>traceId(16) spanId(8) traceFlags(1)</c> then the tracestate as ASCII. Like <see cref="Payload"/>, it
    /// may point into a pooled transport buffer.
    /// </summary>
    public ReadOnlyMemory<byte> TraceContext { get; internal init; }

    /// <summary>True when the payload stands for null rather than for an empty array.</summary>
    public bool IsNullPayload => Payload.IsEmpty && (Flags & FrameFlags.Empty) == 0;

    /// <summary>Copies the payload into a new array: null for a null payload, an empty array for an empty one.</summary>
    /// <returns>The payload as an array the caller owns.</returns>
    public byte[]? PayloadToArray() => IsNullPayload ? null : Payload.IsEmpty ? [] : Payload.ToArray();

    /// <summary>Returns a one-line description for logs and traces.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Op} mux={MuxId} seq={Seq} deadline={DeadlineMs}ms handler={HandlerId}{(Subroute is null ? "" : "/" + Subroute)} flags={Flags} payload={Payload.Length}B{(TraceContext.IsEmpty ? "" : " traced")}");
}
