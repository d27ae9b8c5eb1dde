namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// One stream as its handler served it: checks the caller's messages as the handler takes them (its own, in order,
/// without gaps or duplicates, intact) and records that the handler ended.
/// </summary>
internal sealed class StreamServing(StreamLedger ledger, string node, StreamPlan plan)
{
    public string Node { get; } = node;

    public StreamPlan Plan { get; } = plan;

    /// <summary>The caller's messages taken so far.</summary>
    public int Received { get; private set; }

    /// <summary>True once the handler ended: returned, threw, completed, errored, or was disposed.</summary>
    public bool Ended { get; private set; }

    /// <summary>Checks the caller's next message; returns its body (whatever arrived, so the handler goes on).</summary>
    public string Take(byte[] bytes)
    {
        Received++;
        var message = StreamMessage.Decode(bytes, out var problem);
        if (message is not { } m)
        {
            ledger.HandlerViolation(this, $"message {Received} from the caller: {problem}");
            return "?";
        }

        var expected = StreamMessage.UpBody(Plan.Id, Received);
        if (m.Stream != Plan.Id || m.Direction != StreamMessage.Up || m.Seq != Received || m.Body != expected)
        {
            ledger.HandlerViolation(this, $"message {Received} from the caller is {m}, expected {Plan.Id}|{StreamMessage.Up}|{Received}|{expected}");
        }

        return m.Body;
    }

    public void End() => Ended = true;

    public override string ToString() => $"stream #{Plan.Id} ({Plan.Kind}) served on {Node}";
}
