using System.Globalization;
using System.Reactive.Concurrency;
using System.Text;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>What a simulated call asks the remote to do, and so which endings it may have.</summary>
internal enum CallKind
{
    /// <summary>Answers its payload back, tagged with the serving node, after a random delay.</summary>
    Echo,

    /// <summary>Fails, at once or after a delay: the caller gets a RemoteException carrying the payload.</summary>
    Fail,

    /// <summary>Never answers: only the deadline, the caller or the link can end it.</summary>
    Hang,

    /// <summary>Calls a handler no node registers.</summary>
    Missing,

    /// <summary>
    /// The callee calls a third node's echo and answers with that answer, tagged again: a nested call, cancelled
    /// with the outer one. The third node's failures reach the caller as a RemoteException.
    /// </summary>
    Relay,

    /// <summary>An echo after everything healed: it must be answered.</summary>
    Probe,
}

/// <summary>
/// Every call of one simulation run, each observed from its subscription, and every serving of one by a handler.
/// At the end it lists every broken invariant: a call that did not end exactly once, or ended in a way its kind
/// forbids, or too late; an answer that was not the caller's own; a request served twice or by the wrong node;
/// a handler that never answered and was never cancelled.
/// </summary>
internal sealed class CallLedger(IScheduler scheduler)
{
    // An outcome decided at the deadline's instant is handed to the caller one scheduler hop later.
    private static readonly TimeSpan HandOff = TimeSpan.FromMilliseconds(1);

    private readonly List<Call> _calls = [];
    private readonly Dictionary<long, List<string>> _servedBy = [];
    private readonly List<(long Id, string Node, Func<bool> Cancelled)> _hanging = [];

    public int Count => _calls.Count;

    public bool AllEnded => _calls.TrueForAll(c => c.Ended);

    /// <summary>
    /// Opens a call whose payload names it: <c>id:from&gt;to:nonce:relay-target:padding</c>, so a handler can tell whose
    /// call it serves and an answer tells whose call it answers.
    /// </summary>
    public Call Open(string from, string to, CallKind kind, TimeSpan deadline, string nonce, string? relayTo = null, int padding = 0)
    {
        var id = _calls.Count + 1;
        var call = new Call(scheduler, id, from, to, kind, deadline, $"{id}:{from}>{to}:{nonce}:{relayTo}:{new string('.', padding)}", relayTo);
        _calls.Add(call);
        return call;
    }

    /// <summary>The node a relayed call must reach next, from its payload.</summary>
    public static string RelayTarget(byte[] payload) => Encoding.UTF8.GetString(payload).Split(':')[3];

    /// <summary>A handler on <paramref name="node"/> was given <paramref name="payload"/>; returns the call's id.</summary>
    public long Served(string node, byte[] payload)
    {
        var text = Encoding.UTF8.GetString(payload);
        var id = long.Parse(text.AsSpan(0, text.IndexOf(':', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        if (!_servedBy.TryGetValue(id, out var nodes))
        {
            _servedBy[id] = nodes = [];
        }

        nodes.Add(node);
        return id;
    }

    /// <summary>A handler that never answers took call <paramref name="id"/>: its token must fire before the end.</summary>
    public void Hanging(long id, string node, Func<bool> cancelled) => _hanging.Add((id, node, cancelled));

    public IEnumerable<string> Violations()
    {
        foreach (var call in _calls)
        {
            foreach (var violation in call.Violations())
            {
                yield return $"call {call}: {violation}";
            }

            if (_servedBy.TryGetValue(call.Id, out var nodes))
            {
                // A relayed call is served once by its callee and once, nested, by the relay's target.
                string[] servers = call.RelayTo is null ? [call.To] : [call.To, call.RelayTo];
                var unexpected = nodes.Except(servers).ToList();
                if (unexpected.Count > 0 || nodes.GroupBy(n => n).Any(g => g.Count() > 1))
                {
                    yield return $"call {call}: served by {string.Join(", ", nodes)}; expected at most once each by {string.Join(", ", servers)}";
                }
            }
        }

        foreach (var (id, node, cancelled) in _hanging)
        {
            if (!cancelled())
            {
                yield return $"call #{id}: the handler on {node} never answered and its cancellation token never fired";
            }
        }
    }

    public IEnumerable<string> Summary() =>
        _calls.GroupBy(c => c.Ending).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");

    /// <summary>One call: its identity, its expected answer, and every notification its subscriber got.</summary>
    internal sealed class Call(IScheduler scheduler, long id, string from, string to, CallKind kind, TimeSpan deadline, string payload, string? relayTo)
        : IObserver<byte[]>
    {
        private readonly List<(DateTimeOffset At, string What, Exception? Error)> _seen = [];

        public long Id { get; } = id;

        public string From { get; } = from;

        public string To { get; } = to;

        public CallKind Kind { get; } = kind;

        public string Payload { get; } = payload;

        public string? RelayTo { get; } = relayTo;

        /// <summary>The one answer that is this call's own.</summary>
        public string Expected => RelayTo is null ? Answer(Payload, To) : Answer(Answer(Payload, RelayTo), To);

        public DateTimeOffset StartedAt { get; set; }

        public bool Ended => _seen.Exists(s => s.What is "error" or "completed" or "cancel");

        public string Ending => _seen.Find(s => s.What is "error" or "completed" or "cancel") switch
        {
            (_, "cancel", _) => "Cancelled",
            (_, "completed", _) => "Answered",
            (_, "error", { } error) => error.GetType().Name.Replace("Exception", "", StringComparison.Ordinal),
            _ => "Silent",
        };

        public static string Answer(string payload, string servedBy) => payload + "@" + servedBy;

        /// <summary>The caller disposes its subscription: from here on, nothing may be delivered. A no-op once ended.</summary>
        public void Cancel()
        {
            if (!Ended)
            {
                _seen.Add((scheduler.Now, "cancel", null));
            }
        }

        public void OnNext(byte[] value) => _seen.Add((scheduler.Now, "next:" + Encoding.UTF8.GetString(value), null));

        public void OnError(Exception error) => _seen.Add((scheduler.Now, "error", error));

        public void OnCompleted() => _seen.Add((scheduler.Now, "completed", null));

        public IEnumerable<string> Violations()
        {
            var cancel = _seen.FindIndex(s => s.What == "cancel");
            if (cancel >= 0)
            {
                if (cancel != _seen.Count - 1)
                {
                    yield return $"notified after the caller cancelled: {Describe()}";
                }

                yield break;
            }

            var ends = _seen.Count(s => s.What is "error" or "completed");
            if (ends == 0)
            {
                yield return $"never ended (silence): {Describe()}";
                yield break;
            }

            if (ends > 1 || _seen[^1].What is not ("error" or "completed"))
            {
                yield return $"ended {ends} times or was notified after its end: {Describe()}";
            }

            var end = _seen.Find(s => s.What is "error" or "completed");
            var values = _seen.Where(s => s.What.StartsWith("next:", StringComparison.Ordinal)).Select(s => s.What[5..]).ToList();
            if (end.What == "completed")
            {
                if (values.Count != 1)
                {
                    yield return $"completed with {values.Count} answers: {Describe()}";
                }
                else if (Kind is not (CallKind.Echo or CallKind.Probe or CallKind.Relay))
                {
                    yield return $"a {Kind} call was answered: {Describe()}";
                }
                else if (values[0] != Expected)
                {
                    yield return $"got an answer that is not its own: expected '{Expected}', got '{values[0]}'";
                }
            }
            else if (values.Count != 0)
            {
                yield return $"failed after an answer: {Describe()}";
            }
            else if (!Allowed(end.Error!))
            {
                yield return $"a {Kind} call may not end with {end.Error!.GetType().Name}: {end.Error.Message}";
            }

            var limit = StartedAt + deadline;
            // A deadline error is decided exactly at the deadline and reaches the caller's observer one hop later.
            if (end.Error is DeadlineExceededException ? end.At != limit + TimeSpan.FromTicks(1) : end.At > limit + HandOff)
            {
                yield return $"ended at {end.At.Ticks}, but its deadline was at {limit.Ticks}: {Describe()}";
            }
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"#{Id} {From}->{To} {Kind} (payload {(Payload.Length > 80 ? Payload[..80] + "..." : Payload)}, started {StartedAt.Ticks}, deadline {deadline.TotalMilliseconds} ms)");

        private bool Allowed(Exception error) => error switch
        {
            DisconnectedException or DeadlineExceededException => Kind != CallKind.Probe,
            RemoteException => (Kind == CallKind.Fail && FailTextArrived(error.Message)) || Kind == CallKind.Relay,
            HandlerNotFoundException => Kind == CallKind.Missing,

            // Hostile runs give one node a small MaxMessageSize: a call over it fails alone, the connection lives on.
            MessageTooLargeException => Kind != CallKind.Probe,
            _ => false,
        };

        /// <summary>The handler's "fail:" text arrived whole, or cut (never altered) to fit the caller's message limit.</summary>
        private bool FailTextArrived(string message) =>
            message.Contains(Payload, StringComparison.Ordinal)
            || (message.Length > 0 && ("fail:" + Payload).StartsWith(message, StringComparison.Ordinal));

        private string Describe() => string.Join("; ", _seen.Select(s => string.Create(CultureInfo.InvariantCulture,
            $"{s.At.Ticks} {s.What}{(s.Error is null ? "" : " " + s.Error.GetType().Name + ": " + s.Error.Message)}")));
    }
}
