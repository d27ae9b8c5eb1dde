namespace Grid.Reactive.FaultRun;

/// <summary>
/// The observer of one call (a request or a stream), checking the answer against the request. The first end decides
/// the call's outcome, once; a second answer to a request, a repeated stream message, or any event after the end is
/// counted as duplicated. The watchdog ends a call that is still open at deadline + grace as hung.
/// </summary>
internal sealed class CallProbe(PeerBooks books, bool stream, byte[] request, long startedAt, long hungAt) : IObserver<byte[]>
{
    private readonly Lock gate = new();
    private readonly TaskCompletionSource<Outcome> ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int answers;
    private int nextIndex;
    private string? wrong;
    private bool hung;

    public long StartedAt { get; } = startedAt;
    public long HungAt { get; } = hungAt;
    public Task<Outcome> Ended => ended.Task;

    public void OnNext(byte[] value)
    {
        lock (gate)
        {
            if (ended.Task.IsCompleted)
            {
                Anomaly(hung ? Outcome.LateEnd : Outcome.Duplicated, "an answer after the call ended");
                return;
            }

            answers++;
            if (!stream)
            {
                if (answers > 1)
                {
                    Anomaly(Outcome.Duplicated, "a second answer to one request");
                }
                else if (!Payloads.IsEchoAnswer(request, value, books.Peer))
                {
                    wrong ??= $"answer does not match the request (seq {BitConverter.ToInt64(request)})";
                }

                return;
            }

            var index = Payloads.StreamIndex(request, value, books.Peer);
            if (index >= 0 && index < nextIndex)
            {
                Anomaly(Outcome.Duplicated, $"stream message {index} again after {nextIndex - 1}");
            }
            else if (index != nextIndex)
            {
                wrong ??= index < 0 ? "a stream message that is not this stream's" : $"stream message {index} where {nextIndex} was due";
                nextIndex = Math.Max(nextIndex, index + 1);
            }
            else
            {
                nextIndex++;
            }
        }
    }

    public void OnCompleted()
    {
        lock (gate)
        {
            var expected = Payloads.Count(request);
            if (wrong is null && (stream ? nextIndex != expected : answers == 0)) // a second answer is counted as duplicated already
            {
                wrong = stream ? $"stream completed after {nextIndex} of {expected} messages" : "request completed without an answer";
            }

            End(wrong is null ? Outcome.Ok : Outcome.Wrong, wrong ?? "");
        }
    }

    public void OnError(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        lock (gate)
        {
            End(wrong is null ? Outcome.Failed : Outcome.Wrong, wrong ?? error.GetType().Name);
        }
    }

    /// <summary>From the watchdog: the call is still open at deadline + grace.</summary>
    public void MarkHung(long now)
    {
        lock (gate)
        {
            if (!ended.Task.IsCompleted)
            {
                hung = true;
                End(Outcome.Hung, $"still open {now - StartedAt} ms after it started (seq {BitConverter.ToInt64(request)}, {answers} answers)");
            }
        }
    }

    private void End(Outcome outcome, string detail)
    {
        if (ended.Task.IsCompleted)
        {
            Anomaly(hung ? Outcome.LateEnd : Outcome.Duplicated, $"a second end ({outcome} {detail})");
            return;
        }

        books.Ended(stream, outcome, detail, Clock.NowMs, StartedAt);
        ended.SetResult(outcome);
    }

    private void Anomaly(Outcome outcome, string detail) => books.Ended(stream, outcome, detail, Clock.NowMs, StartedAt);
}
