namespace Grid.Reactive.FaultRun;

/// <summary>
/// The checker's own check (`--role check`, run by run.sh before it starts the grid): synthetic call events fed to
/// the probes must land in the right columns of the books, so a clean verdict means the calls were clean, not that
/// the checker missed them. Exits 1 on the first case that lands wrong.
/// </summary>
internal static class SelfCheck
{
    private const string Peer = "10.0.0.2:7000";

    public static int Run()
    {
        var failures = new List<string>();
        var random = new Random(1);

        void Case(string name, bool stream, Action<CallProbe, byte[]> events, Func<Ledger, bool> expect)
        {
            var books = new PeerBooks(Peer);
            var request = Payloads.Request(42, stream ? 3 : 0, random);
            var probe = new CallProbe(books, stream, request, 0, 0);
            books.Issued(stream);
            events(probe, request);
            var (requests, streams, _) = books.Snapshot();
            if (!expect(stream ? streams : requests))
            {
                failures.Add(name);
            }
        }

        byte[] Answer(byte[] request) => Payloads.EchoAnswer(request, Peer);
        byte[] Message(byte[] request, int i) => Payloads.StreamMessage(request, i, Peer);

        Case("right answer is ok", false, (p, r) => { p.OnNext(Answer(r)); p.OnCompleted(); }, l => l is { Ok: 1, Wrong: 0, Duplicated: 0 });
        Case("corrupt answer is wrong", false, (p, r) => { var a = Answer(r); a[10] ^= 1; p.OnNext(a); p.OnCompleted(); }, l => l is { Ok: 0, Wrong: 1 });
        Case("another node's answer is wrong", false, (p, r) => { p.OnNext(Payloads.EchoAnswer(r, "10.0.0.3:7000")); p.OnCompleted(); }, l => l is { Wrong: 1 });
        Case("another request's answer is wrong", false, (p, _) => { p.OnNext(Answer(Payloads.Request(43, 0, random))); p.OnCompleted(); }, l => l is { Wrong: 1 });
        Case("no answer is wrong", false, (p, _) => p.OnCompleted(), l => l is { Wrong: 1 });
        Case("two answers are duplicated", false, (p, r) => { p.OnNext(Answer(r)); p.OnNext(Answer(r)); p.OnCompleted(); }, l => l is { Ok: 1, Duplicated: 1 });
        Case("an answer after the end is duplicated", false, (p, r) => { p.OnNext(Answer(r)); p.OnCompleted(); p.OnNext(Answer(r)); }, l => l is { Ok: 1, Duplicated: 1 });
        Case("a second end is duplicated", false, (p, r) => { p.OnNext(Answer(r)); p.OnCompleted(); p.OnError(new DisconnectedException()); }, l => l is { Ok: 1, Duplicated: 1 });
        Case("an error is failed by type", false, (p, _) => p.OnError(new DeadlineExceededException()), l => l.FailedTotal == 1 && l.Failed.ContainsKey(nameof(DeadlineExceededException)));
        Case("open past the grace is hung, its end late", false, (p, r) => { p.MarkHung(5_000); p.OnNext(Answer(r)); p.OnCompleted(); }, l => l is { Hung: 1, Ok: 0, LateEnds: 2, Duplicated: 0 });
        Case("stream in order is ok", true, (p, r) => { for (var i = 0; i < 3; i++) { p.OnNext(Message(r, i)); } p.OnCompleted(); }, l => l is { Ok: 1, Wrong: 0, Duplicated: 0 });
        Case("stream message repeated is duplicated", true, (p, r) => { p.OnNext(Message(r, 0)); p.OnNext(Message(r, 0)); p.OnNext(Message(r, 1)); p.OnNext(Message(r, 2)); p.OnCompleted(); }, l => l is { Ok: 1, Duplicated: 1 });
        Case("stream message skipped is wrong", true, (p, r) => { p.OnNext(Message(r, 0)); p.OnNext(Message(r, 2)); p.OnCompleted(); }, l => l is { Wrong: 1 });
        Case("stream cut short is wrong", true, (p, r) => { p.OnNext(Message(r, 0)); p.OnCompleted(); }, l => l is { Wrong: 1 });
        Case("stream failing midway is failed", true, (p, r) => { p.OnNext(Message(r, 0)); p.OnError(new DisconnectedException()); }, l => l is { Wrong: 0 } && l.FailedTotal == 1);

        // Recovery read from a timeline: a fault from 1,000 to 3,000 ms; failures from 1,200; first success at 3,250.
        var timeline = new PeerBooks(Peer);
        timeline.Ended(false, Outcome.Ok, null, 900, 890);
        timeline.Ended(false, Outcome.Failed, nameof(DisconnectedException), 1_200, 1_190);
        timeline.Ended(false, Outcome.Failed, nameof(DisconnectedException), 2_900, 2_890);
        timeline.Ended(false, Outcome.Ok, null, 3_250, 3_240);
        var recovery = timeline.Recovery(new FaultWindow("cut", [Peer], 1_000, 3_000));
        if (recovery is not { DetectMs: 200, RecoverMs: 250, LongestGapMs: 2_250, OkDuring: 1 })
        {
            failures.Add($"recovery read from a timeline ({recovery})");
        }

        foreach (var failure in failures)
        {
            Console.WriteLine($"self-check FAILED: {failure}");
        }

        Console.WriteLine(failures.Count == 0 ? "self-check: the books catch wrong, duplicated, hung and late calls" : "");
        return failures.Count == 0 ? 0 : 1;
    }
}
