using System.Diagnostics;
using System.Text;

namespace Grid.Reactive.Diagnostics;

/// <summary>
/// The W3C trace context (traceparent and tracestate) as the optional trace-context field of a request or stream-open
/// frame carries it (<see cref="FrameFlags.TraceContext"/>): binary, <c>traceId(16) spanId(8) traceFlags(1)</c>,
/// then the tracestate header's value as ASCII (0 to <see cref="MaxTraceStateBytes"/> bytes). The version byte of
/// the text traceparent is implied (00).
/// </summary>
internal static class TraceContextCodec
{
    /// <summary>Bytes of the fixed part: trace id, span id, flags.</summary>
    public const int FixedBytes = 16 + 8 + 1;

    /// <summary>Longest tracestate carried, in bytes (W3C: 32 members of at most 256 characters; vendors keep it short).</summary>
    public const int MaxTraceStateBytes = 512;

    /// <summary>Longest trace-context field, in bytes.</summary>
    public const int MaxBytes = FixedBytes + MaxTraceStateBytes;

    /// <summary>Encodes an activity's context; null when it is not a W3C id or its tracestate is too long or not ASCII.</summary>
    public static byte[]? Encode(Activity activity)
    {
        if (activity.IdFormat != ActivityIdFormat.W3C)
        {
            return null;
        }

        var state = activity.TraceStateString;
        var stateBytes = 0;
        if (!string.IsNullOrEmpty(state))
        {
            if (state.Length > MaxTraceStateBytes || !Ascii.IsValid(state))
            {
                state = null; // not representable: the parent still travels, without its vendor state
            }
            else
            {
                stateBytes = state.Length;
            }
        }

        var bytes = new byte[FixedBytes + stateBytes];
        activity.TraceId.CopyTo(bytes.AsSpan(0, 16));
        activity.SpanId.CopyTo(bytes.AsSpan(16, 8));
        bytes[24] = (byte)activity.ActivityTraceFlags;
        if (stateBytes > 0)
        {
            Encoding.ASCII.GetBytes(state!, bytes.AsSpan(FixedBytes));
        }

        return bytes;
    }

    /// <summary>
    /// Decodes a trace-context field. A context that is not valid W3C (all-zero ids, tracestate with bytes outside
    /// printable ASCII) is ignored, as W3C asks of an invalid traceparent: false, and the call runs as if it had none.
    /// </summary>
    /// <param name="field">The field's bytes; its length was checked by the frame decoder.</param>
    /// <param name="context">The remote parent.</param>
    /// <returns>True when the field holds a valid context.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> field, out ActivityContext context)
    {
        context = default;
        if (field.Length is < FixedBytes or > MaxBytes)
        {
            return false;
        }

        var traceId = field[..16];
        var spanId = field.Slice(16, 8);
        if (!traceId.ContainsAnyExcept((byte)0) || !spanId.ContainsAnyExcept((byte)0))
        {
            return false;
        }

        string? state = null;
        var stateBytes = field[FixedBytes..];
        if (!stateBytes.IsEmpty)
        {
            if (stateBytes.ContainsAnyExceptInRange((byte)0x20, (byte)0x7e))
            {
                return false;
            }

            state = Encoding.ASCII.GetString(stateBytes);
        }

        context = new ActivityContext(ActivityTraceId.CreateFromBytes(traceId), ActivitySpanId.CreateFromBytes(spanId),
            (ActivityTraceFlags)(field[24] & (byte)ActivityTraceFlags.Recorded), state, isRemote: true);
        return true;
    }
}
