using System.Globalization;
using System.Reactive.Concurrency;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>One simulated stream as its caller saw it: every notification, the caller's own ending if it made one.</summary>
internal sealed class StreamRecord(IScheduler scheduler, string from, string to, StreamPlan plan, TimeSpan? deadline) : IObserver<byte[]>
{
    // An ending decided at the deadline's instant is handed to the caller one scheduler hop later.
    private static readonly TimeSpan HandOff = TimeSpan.FromMilliseconds(1);

    private readonly List<Seen> _seen = [];
    private Seen? _end;
    private int _received;

    public string From { get; } = from;

    public string To { get; } = to;

    public StreamPlan Plan { get; } = plan;

    public TimeSpan? Deadline { get; } = deadline;

    public DateTimeOffset StartedAt { get; set; }

    /// <summary>How the caller sends its messages, for the report.</summary>
    public string Sending { get; set; } = "";

    /// <summary>Cancels the stream as its caller would (true: because it stalled); set when it is opened.</summary>
    public Action<bool>? Abandon { get; set; }

    /// <summary>For a caller that pulls: whether its reading loop has returned. Null for a caller that observes.</summary>
    public bool? ReaderDone { get; set; }

    /// <summary>Cancels the stream with the caller's <c>OnError</c>; set when it is opened.</summary>
    public Action<Exception>? FailByCaller { get; set; }

    /// <summary>The error the caller cancelled the stream with (its <c>OnError</c>), while it was open.</summary>
    public Exception? CallerError { get; private set; }

    /// <summary>True when the run cancelled the stream after settling, because it still had not ended.</summary>
    public bool Stalled { get; private set; }

    public int Received => _received;

    public bool Ended => _end is not null;

    public DateTimeOffset? EndedAt => _end?.At;

    public string Ending => _end switch
    {
        { What: "cancel" } => Stalled ? "Stalled" : "Cancelled",
        { What: "completed" } => "Completed",
        { Error: { } error } when ReferenceEquals(error, CallerError) => "CallerError",
        { Error: RemoteException error } => "Remote(" + RemoteReason(error.Message) + ")",
        { Error: DisconnectedException error } when error.Message.StartsWith("No pong", StringComparison.Ordinal) => "Disconnected(no pong)",
        { Error: { } error } => error.GetType().Name.Replace("Exception", "", StringComparison.Ordinal),
        _ => "Silent",
    };

    /// <summary>The caller disposes its subscription: from here on, nothing may be delivered. A no-op once ended.</summary>
    public void Cancel(bool stalled = false)
    {
        if (!Ended)
        {
            Stalled = stalled;
            Add(new Seen(scheduler.Now, "cancel", null, null));
        }
    }

    /// <summary>The caller is about to call the stream's <c>OnError</c> with <paramref name="error"/>.</summary>
    public void CallerFails(Exception error)
    {
        if (!Ended && CallerError is null)
        {
            CallerError = error;
        }
    }

    public void OnNext(byte[] value)
    {
        var message = StreamMessage.Decode(value, out var problem);
        _received++;
        Add(new Seen(scheduler.Now, "next", null, problem, message));
    }

    public void OnError(Exception error) => Add(new Seen(scheduler.Now, "error", error, null));

    public void OnCompleted() => Add(new Seen(scheduler.Now, "completed", null, null));

    /// <param name="lossy">The pair lost messages on purpose while the stream lived.</param>
    /// <param name="mayStall">The stream may rightly never end.</param>
    public IEnumerable<string> Violations(bool lossy, bool mayStall)
    {
        var output = Plan.Output(To);
        var messages = _seen.TakeWhile(s => !s.IsEnd).Where(s => s.What == "next").ToList();
        for (var i = 0; i < messages.Count; i++)
        {
            var expected = i < output.Count ? output[i] : null;
            if (messages[i].Message is not { } m || m.Stream != Plan.Id || m.Direction != StreamMessage.Down || m.Seq != i + 1 || m.Body != expected)
            {
                yield return $"message {i + 1} is '{messages[i].Text}', expected {Plan.Id}|{StreamMessage.Down}|{i + 1}|{expected ?? "(nothing: the output has ended)"}: {Describe()}";
                break;
            }
        }

        if (ReaderDone == false)
        {
            yield return $"the caller's ReadAllAsync never returned: {Describe()}";
        }

        var endIndex = _seen.FindIndex(s => s.IsEnd);
        if (endIndex < 0)
        {
            yield return $"never ended (silence): {Describe()}";
            yield break;
        }

        if (endIndex != _seen.Count - 1)
        {
            yield return _seen[endIndex].What == "cancel"
                ? $"notified after the caller cancelled: {Describe()}"
                : $"ended more than once, or was notified after its end: {Describe()}";
        }

        var end = _seen[endIndex];
        if (end.What == "cancel")
        {
            if (Stalled && !mayStall)
            {
                yield return $"never ended (silence) until the run cancelled it after settling: {Describe()}";
            }

            yield break;
        }

        if (end.What == "completed")
        {
            if (Plan.Behavior != StreamBehavior.Complete || Plan.Kind == StreamKind.Missing)
            {
                yield return $"a {Plan.Kind} stream whose handler {Plan.Behavior}s completed: {Describe()}";
            }
            else if (messages.Count != output.Count)
            {
                yield return $"completed after {messages.Count} of its {output.Count} messages: {Describe()}";
            }
        }
        else if (Problem(end.Error!, messages.Count, output.Count, lossy) is { } problem)
        {
            yield return $"{problem}: {Describe()}";
        }

        if (Deadline is { } due)
        {
            var limit = StartedAt + due;
            if (end.Error is DeadlineExceededException ? end.At < limit || end.At > limit + HandOff : end.At > limit + HandOff)
            {
                yield return $"ended at {end.At.Ticks}, but its deadline was at {limit.Ticks}: {Describe()}";
            }
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"#{Plan.Id} {From}->{To} {Plan.Kind} (count {Plan.Count}, {Plan.Behavior}, gap {Plan.GapMs} ms, caller {Sending}, started {StartedAt.Ticks}, deadline {(Deadline is { } d ? d.TotalMilliseconds + " ms" : "none")})");

    /// <summary>Why this error may not end this stream, or null when it may.</summary>
    private string? Problem(Exception error, int received, int expected, bool lossy)
    {
        var probe = Plan.Kind == StreamKind.Probe;
        switch (error)
        {
            case var _ when ReferenceEquals(error, CallerError):
                return null;
            case DeadlineExceededException when Deadline is not null && !probe:
            case DisconnectedException when !probe:
            case HandlerNotFoundException when Plan.Kind == StreamKind.Missing:
            case ProtocolException when lossy:
                return null;
            case RemoteException when error.Message == Plan.FailText:
                return Plan.Behavior != StreamBehavior.Fail ? $"failed with '{error.Message}', but its handler does not fail"
                    : received != expected && !lossy ? $"failed after {received} of its {expected} messages; the failure must follow them all"
                    : null;
            case RemoteException when error.Message.Contains("stopped pinging stream", StringComparison.Ordinal) && !probe:
                return null;
            case RemoteException when lossy && (error.Message.Contains("no longer knows stream", StringComparison.Ordinal)
                || error.Message.Contains("arrived where", StringComparison.Ordinal)
                || error.Message.Contains("the sender ended after", StringComparison.Ordinal)):
                return null;
            default:
                return $"a {Plan.Kind} stream{(lossy ? " on a lossy pair" : "")} may not end with {error.GetType().Name}: {error.Message}";
        }
    }

    /// <summary>Which side ended the stream with a remote error, and why, in a word.</summary>
    private string RemoteReason(string message) =>
        message == Plan.FailText ? "handler failed"
        : message.Contains("stopped pinging stream", StringComparison.Ordinal) ? "caller went silent"
        : message.Contains("no longer knows stream", StringComparison.Ordinal) ? "stream unknown"
        : message.Contains("arrived where", StringComparison.Ordinal) ? "gap"
        : message.Contains("the sender ended after", StringComparison.Ordinal) ? "short input"
        : "other";

    private void Add(Seen seen)
    {
        _seen.Add(seen);
        if (seen.IsEnd)
        {
            _end ??= seen;
        }
    }

    private string Describe() => string.Join("; ", _seen.Select(s => string.Create(CultureInfo.InvariantCulture,
        $"{s.At.Ticks} {s.What}{(s.Text is null ? "" : " " + s.Text)}{(s.Error is null ? "" : " " + s.Error.GetType().Name + ": " + s.Error.Message)}")));

    private sealed record Seen(DateTimeOffset At, string What, Exception? Error, string? Problem, StreamMessage? Message = null)
    {
        public bool IsEnd => What is "error" or "completed" or "cancel";

        /// <summary>The message as it arrived, or why it is not one.</summary>
        public string? Text => Message?.ToString() ?? Problem;
    }
}
