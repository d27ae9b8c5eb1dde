using System.Globalization;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Membership;

/// <summary>
/// Nodes join, leave, and flap in and out of the membership of a running grid while every node calls every other
/// all the time; then the books are checked call by call.
/// </summary>
public sealed class MembershipChurnTests
{
    private static readonly HandlerId Slow = new(40);

    private sealed class CallRecord(string from, string to, long issuedAt)
    {
        public string From => from;

        public string To => to;

        public long IssuedAt => issuedAt;

        public List<(long Time, System.Reactive.Notification<byte[]> What)> Outcomes { get; } = [];
    }

    [Test]
    public async Task JoinsLeavesAndFlaps_WithCallsInFlight_EveryCallEndsOnce_NoneReachesARetiredPeer()
    {
        string[] universe = ["n1", "n2", "n3", "n4", "n5", "n6"];
        await using var members = new MemberGrid(universe);
        var scheduler = members.Grid.Scheduler;
        var served = new List<(string From, string To, long IssuedAt)>();
        var calls = new List<CallRecord>();
        var retiredAt = new Dictionary<(string From, string To), long>();
        var running = new List<string>();
        var random = new Random(12);

        void Start(string name, string[] view)
        {
            var node = members.Start(name, view);
            running.Add(name);
            node.Register(Slow, payload =>
            {
                var parts = Text(payload).Split('|');
                served.Add((parts[0], name, long.Parse(parts[1], CultureInfo.InvariantCulture)));
                return Observable.Timer(TimeSpan.FromMilliseconds(int.Parse(parts[2], CultureInfo.InvariantCulture)), scheduler).Select(_ => payload);
            });

            // When a peer leaves this node's live set, it was retired here: calls issued from then on must not reach it.
            var known = new HashSet<string>();
            node.Peers.Subscribe(set =>
            {
                var now = set.Select(c => c.RemoteAddress).ToHashSet();
                foreach (var gone in known.Except(now))
                {
                    retiredAt[(name, gone)] = scheduler.Clock;
                }

                known = now;
            });
        }

        string[] first = ["n1", "n2", "n3", "n4"];
        foreach (var name in first)
        {
            Start(name, first);
        }

        // Every 20 ms each running node calls every other node of the universe it knows, answered after 10 ms to 3 s.
        using var load = Observable.Interval(TimeSpan.FromMilliseconds(20), scheduler).Subscribe(_ =>
        {
            foreach (var from in running.ToArray())
            {
                foreach (var to in universe.Where(t => t != from))
                {
                    Connection connection;
                    try
                    {
                        connection = members[from].Connection(to);
                    }
                    catch (ArgumentException)
                    {
                        continue; // not a member for this node: nothing is sent
                    }

                    var record = new CallRecord(from, to, scheduler.Clock);
                    calls.Add(record);
                    var payload = Bytes($"{from}|{scheduler.Clock}|{random.Next(10, 3000)}");
                    connection.Request(Slow, payload, TimeSpan.FromSeconds(5)).Materialize()
                        .Subscribe(n => record.Outcomes.Add((scheduler.Clock, n)));
                }
            }
        });

        members.RunMs(1000);
        Start("n5", ["n1", "n2", "n3", "n4", "n5"]);         // n5 starts knowing everyone ...
        members.RunMs(200);
        members.TellAll("n1", "n2", "n3", "n4", "n5");        // ... and is listed 200 ms later
        members.RunMs(1800);                                  // t = 3 s: n2 leaves (drained for the grace period, 1 s)
        members.TellAll("n1", "n3", "n4", "n5");
        members.RunMs(500);
        for (var flap = 0; flap < 10; flap++)                 // t = 3.5 s: n3 flaps in and out, always back within 100 ms
        {
            members.TellAll("n1", "n4", "n5");
            members.RunMs(50);
            members.TellAll("n1", "n3", "n4", "n5");
            members.RunMs(100);
        }

        members.RunMs(500);                                   // t = 5.5 s: n2 is stopped (its pod is gone)
        running.Remove("n2");
        await members.Grid.StopAsync("n2");
        Start("n6", ["n1", "n3", "n4", "n5", "n6"]);          // n6 joins
        members.TellAll("n1", "n3", "n4", "n5", "n6");
        members.RunMs(2500);
        load.Dispose();                                       // t = 8 s: no new calls
        members.RunMs(10000);                                 // every call ends by its deadline

        TestContext.Out.WriteLine($"calls {calls.Count}, served {served.Count}, failed {calls.Count(c => c.Outcomes[^1].What.Exception is not null)}, retired {string.Join(" ", retiredAt)}");
        // Every call ended exactly once.
        Assert.That(calls, Has.Count.GreaterThan(5000));
        Assert.That(calls.Where(c => c.Outcomes.Count(o => o.What.Kind != System.Reactive.NotificationKind.OnNext) != 1), Is.Empty);
        Assert.That(calls.Where(c => c.Outcomes.Count(o => o.What.Kind == System.Reactive.NotificationKind.OnNext) > 1), Is.Empty);
        Assert.That(calls.Select(c => c.Outcomes.Last().What.Exception).OfType<Exception>().Where(e => e is not DisconnectedException), Is.Empty,
            "the only failures are disconnections (never a deadline or a stray error)");

        // No call issued after a node retired a peer reached that peer.
        Assert.That(retiredAt.Keys, Is.SupersetOf(new[] { ("n1", "n2"), ("n3", "n2"), ("n4", "n2"), ("n5", "n2") }));
        Assert.That(served.Where(s => retiredAt.TryGetValue((s.From, s.To), out var at) && s.IssuedAt >= at), Is.Empty);
        Assert.That(retiredAt.Keys.Where(k => k.To == "n3"), Is.Empty, "n3's flapping never retired it");

        // Calls to n2 still in flight when it was retired failed then, saying it left the membership.
        var cutShort = calls.Where(c => c.To == "n2" && retiredAt.TryGetValue((c.From, "n2"), out var at)
            && c.IssuedAt < at && c.Outcomes[^1].Time >= at).ToArray();
        Assert.That(cutShort, Has.Length.GreaterThan(10));
        Assert.That(cutShort.Select(c => c.Outcomes[^1].What.Exception?.Message),
            Has.All.Contains("'n2' left the membership of").And.All.Contains("the connection was retired"));
        Assert.That(cutShort.Select(c => c.Outcomes[^1].Time - retiredAt[(c.From, "n2")]), Has.All.LessThanOrEqualTo(1), "at the end of the grace period");

        // Calls to n3 from nodes connected to it all succeeded through its flapping.
        Assert.That(calls.Where(c => c.To == "n3" && c.From != "n2" && c.IssuedAt > TimeSpan.FromSeconds(2).Ticks && c.Outcomes[^1].What.Exception is not null), Is.Empty);

        // The members left form a full mesh, n6 included, with nothing left in flight.
        foreach (var from in running)
        {
            Assert.That(members[from].Connections.Select(c => $"{c.RemoteAddress} {c.State}"),
                Is.EquivalentTo(running.Where(r => r != from).Select(r => r + " Connected")), from);
            Assert.That(members[from].PendingCalls(), Is.Zero, from);
        }
    }
}
