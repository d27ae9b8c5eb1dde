using System.Globalization;
using System.Text;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>Which stream handler a simulated stream opens, and so its shape.</summary>
internal enum StreamKind
{
    /// <summary>Server push only (no input), credit-aware: awaits each send.</summary>
    Push,

    /// <summary>Server push only, the Rx way: one message per tick of a timer on the scheduler.</summary>
    PacedPush,

    /// <summary>Client push: the handler answers once, with how many messages it got, after the input ends.</summary>
    Count,

    /// <summary>Two-way, the Rx way: each message echoed, optionally delayed on the scheduler.</summary>
    Echo,

    /// <summary>Two-way, credit-aware and async: pulls each message, optionally pauses, awaits the echo's send.</summary>
    AsyncEcho,

    /// <summary>A stream handler no node registers.</summary>
    Missing,

    /// <summary>An <see cref="AsyncEcho"/> after everything healed: it must complete.</summary>
    Probe,
}

/// <summary>How a handler ends once its output is complete.</summary>
internal enum StreamBehavior
{
    /// <summary>Ends the stream normally.</summary>
    Complete,

    /// <summary>Fails with <c>fail:&lt;stream id&gt;</c>: the caller gets a RemoteException after every message.</summary>
    Fail,

    /// <summary>Never ends: only the deadline, the caller, the link or the caller's silence can end it.</summary>
    Hang,
}

/// <summary>
/// What a simulated stream asks of its handler, sent as the initial payload: its id, its kind, how many messages
/// (the handler's for a push, the caller's otherwise), how the handler ends, and the pace (ms between messages, 0 for
/// as fast as credit allows).
/// </summary>
internal sealed record StreamPlan(long Id, StreamKind Kind, int Count, StreamBehavior Behavior, int GapMs)
{
    public byte[] Encode() => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Id}|{Kind}|{Count}|{Behavior}|{GapMs}"));

    public static StreamPlan Decode(byte[] payload)
    {
        var parts = Encoding.UTF8.GetString(payload).Split('|');
        return new StreamPlan(long.Parse(parts[0], CultureInfo.InvariantCulture), Enum.Parse<StreamKind>(parts[1]),
            int.Parse(parts[2], CultureInfo.InvariantCulture), Enum.Parse<StreamBehavior>(parts[3]), int.Parse(parts[4], CultureInfo.InvariantCulture));
    }

    /// <summary>Whether the caller sends messages on this stream.</summary>
    public bool HasInput => Kind is StreamKind.Count or StreamKind.Echo or StreamKind.AsyncEcho or StreamKind.Probe or StreamKind.Missing;

    /// <summary>The handler's whole output, in order, when served by <paramref name="node"/> and let run to its end.</summary>
    public IReadOnlyList<string> Output(string node) => Kind switch
    {
        StreamKind.Push or StreamKind.PacedPush => [.. Enumerable.Range(1, Count).Select(i => Pushed(i, node))],
        StreamKind.Echo or StreamKind.AsyncEcho or StreamKind.Probe => [.. Enumerable.Range(1, Count).Select(i => Echoed(StreamMessage.UpBody(Id, i), node))],
        StreamKind.Count => [Counted(Count, node)],
        _ => [],
    };

    public static string Pushed(int seq, string node) => string.Create(CultureInfo.InvariantCulture, $"push{seq}@{node}");

    public static string Echoed(string body, string node) => $"echo:{body}@{node}";

    public static string Counted(long count, string node) => string.Create(CultureInfo.InvariantCulture, $"count:{count}@{node}");

    public string FailText => string.Create(CultureInfo.InvariantCulture, $"fail:{Id}");
}
