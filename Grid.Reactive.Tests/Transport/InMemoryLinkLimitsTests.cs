using System.Reactive.Concurrency;
using System.Text;
using Grid.Reactive.Transport;
using Microsoft.Reactive.Testing;

namespace Grid.Reactive.Tests.Transport;

/// <summary>
/// Where the in-memory transport stops being kinder than a real network: message size limits (each end its own), a
/// bandwidth per direction, and receivers that read slowly or not at all. Times are virtual ticks, with the
/// conventions of <see cref="InMemoryNetworkTests"/>: a flush requested at t runs its pass at t + 1, and work that
/// becomes due "now" runs one tick later. A message's text is its name, padded with dots to its size.
/// </summary>
public sealed class InMemoryLinkLimitsTests
{
    private const int DialerLimit = 1000;
    private const int AcceptorLimit = 2000;

    private TestScheduler _scheduler = null!;
    private InMemoryNetwork _network = null!;

    [SetUp]
    public void SetUp()
    {
        _scheduler = new TestScheduler();
        _network = new InMemoryNetwork(_scheduler);
    }

    [Test]
    public async Task A_message_over_the_acceptors_own_limit_closes_its_end_with_a_ProtocolException_and_is_not_delivered()
    {
        var (a, b) = await ConnectAsync();

        // 1,500 bytes exceed the dialer's own limit, not the acceptor's: the receiver's limit is the one that counts.
        At(Ms(10), () => a.Send(Message("fits", 1500), Message("too big", 2001), Message("after", 10)));
        _scheduler.AdvanceTo(Ms(1000));

        Assert.That(Names(b.ReceivedTexts), Is.EqualTo(new[] { "fits" }));
        Assert.That(b.CloseError, Is.TypeOf<ProtocolException>()
            .With.Message.EqualTo("mem B -> A: received a message of 2001 bytes, larger than the 2000 bytes allowed."));
        Assert.That(a.CloseError, Is.TypeOf<DisconnectedException>().With.Message.Contains("2001 bytes"));
        Assert.That(_network.LiveLinkCount, Is.Zero);
        Assert.That(a.Violations + b.Violations, Is.Zero);
    }

    [Test]
    public async Task A_message_over_the_dialers_own_limit_closes_its_end_with_a_ProtocolException_and_one_at_the_limit_passes()
    {
        var (a, b) = await ConnectAsync();

        // 1,500 bytes are within the acceptor's own limit, but the dialer receives them.
        At(Ms(10), () => b.Send(Message("at the limit", DialerLimit), Message("over", 1500)));
        _scheduler.AdvanceTo(Ms(1000));

        Assert.That(a.Received.Select(m => m.Bytes.Length), Is.EqualTo(new[] { DialerLimit }));
        Assert.That(a.CloseError, Is.TypeOf<ProtocolException>()
            .With.Message.EqualTo("mem A -> B: received a message of 1500 bytes, larger than the 1000 bytes allowed."));
        Assert.That(a.ClosedAt, Is.EqualTo(Ms(10) + 2), "checked on arrival, like the WebSocket reader");
        Assert.That(b.CloseError, Is.TypeOf<DisconnectedException>());
        Assert.That(b.Received, Is.Empty);
    }

    [Test]
    public async Task With_a_bandwidth_messages_take_their_size_on_the_wire_one_after_the_other_and_are_pulled_only_once_the_previous_is_on_it()
    {
        _network.SetBandwidth("A", "B", 1000);
        _network.SetLatency("A", "B", TimeSpan.FromMilliseconds(100));
        var (a, b) = await ConnectAsync();

        At(Ms(10), () => a.Send(Message("m1", 500), Message("m2", 500)));
        At(Ms(200), () => a.Send(Message("m3", 100)));
        At(Ms(10), () => b.Send("back"));
        At(Ms(3000), () => a.Send(Message("m4", 100)));
        _scheduler.AdvanceTo(Ms(5000));

        // The pass runs at 10 ms + 1 tick. m1: 500 ms on the wire, then 100 ms of latency. m2 goes on the wire behind
        // it; m3, queued while the wire was busy, behind m2. m4 finds the wire idle.
        var pass = Ms(10) + 1;
        Assert.That(Names(a.Writes), Is.EqualTo(new[] { $"{pass}:m1", $"{pass + Ms(500)}:m2", $"{pass + Ms(1000)}:m3", $"{Ms(3000) + 1}:m4" }));
        Assert.That(Names(b.Timeline), Is.EqualTo(new[]
        {
            $"{pass + Ms(600)}:m1", $"{pass + Ms(1100)}:m2", $"{pass + Ms(1200)}:m3", $"{Ms(3000) + 1 + Ms(200)}:m4",
        }));
        Assert.That(a.Timeline, Is.EqualTo(new[] { $"{Ms(10) + 2}:back" }), "the other direction has its own (unlimited) bandwidth");
        Assert.That(a.Violations + b.Violations, Is.Zero);
    }

    [Test]
    public async Task DefaultBandwidth_applies_to_directions_without_their_own_and_zero_is_unlimited()
    {
        _network.DefaultBandwidth = 10_000;
        _network.SetBandwidth("B", "A", 0);
        _network.SetBandwidth("A", "B", 500);
        _network.SetBandwidth("A", "B", null);
        var (a, b) = await ConnectAsync();

        At(Ms(10), () => a.Send(Message("x", 1000)));
        At(Ms(10), () => b.Send(Message("y", 1000)));
        _scheduler.AdvanceTo(Ms(1000));

        Assert.That(Names(b.Timeline), Is.EqualTo(new[] { $"{Ms(110) + 1}:x" }));
        Assert.That(Names(a.Timeline), Is.EqualTo(new[] { $"{Ms(10) + 2}:y" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _network.DefaultBandwidth = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => _network.SetBandwidth("A", "B", -1));
    }

    [Test]
    public async Task A_stopped_reader_keeps_messages_in_flight_its_sender_stops_pulling_at_the_window_and_resuming_delivers_all_in_order()
    {
        var (a, b) = await ConnectAsync();
        _network.StopReading("B", from: "A", window: 1000);
        var names = Enumerable.Range(0, 10).Select(i => $"m{i}").ToArray();
        var asked = 0;

        At(Ms(10), () =>
        {
            asked = a.TryWriteCalls;
            a.Send([.. names.Select(n => Message(n, 400))]);
        });
        At(Ms(20), () => b.Send("B still sends"));
        _scheduler.AdvanceTo(Ms(10_000));

        Assert.That(b.Received, Is.Empty);
        Assert.That(Names(a.Writes), Is.EqualTo(new[] { $"{Ms(10) + 1}:m0", $"{Ms(10) + 1}:m1", $"{Ms(10) + 1}:m2" }),
            "pulled while under the window of 1,000 bytes (0, 400, 800 in flight), then no more");
        Assert.That(a.TryWriteCalls - asked, Is.EqualTo(3), "not even asked while the window is full");
        Assert.That(a.QueuedCount, Is.EqualTo(7), "the rest waits in the sender's queue");
        Assert.That(a.ReceivedTexts, Is.EqualTo(new[] { "B still sends" }), "only B -> A is read; A -> B is not");

        At(Ms(10_000), () => _network.ResumeReading("B", from: "A"));
        _scheduler.AdvanceTo(Ms(11_000));

        Assert.That(Names(b.ReceivedTexts), Is.EqualTo(names));
        Assert.That(b.Received.Select(m => m.Time), Has.All.EqualTo(b.Received[0].Time).And.All.LessThan(Ms(10_000) + 5), "all at once, right after the resume");
        Assert.That(a.QueuedCount, Is.Zero);
        Assert.That(a.Violations + b.Violations, Is.Zero);
    }

    [Test]
    public async Task A_stopped_reader_also_holds_the_close_notice_and_HealAll_resumes_it()
    {
        var (a, b) = await ConnectAsync();
        _network.StopReading("B", from: "A");
        At(Ms(10), () => a.Send("m1"));
        At(Ms(20), () => a.Link!.Close(null));
        _scheduler.AdvanceTo(Ms(1000));
        Assert.That(b.Received.Count + b.ClosedCount, Is.Zero);

        _network.HealAll();
        _scheduler.AdvanceTo(Ms(2000));

        Assert.That(b.Timeline, Is.EqualTo(new[] { $"{Ms(1000) + 1}:m1" }));
        Assert.That(b.ClosedAt, Is.EqualTo(Ms(1000) + 1));
        Assert.That(b.CloseError, Is.Null);
    }

    [Test]
    public async Task A_slow_reader_hands_over_each_message_once_read_and_its_sender_pulls_as_the_window_empties()
    {
        var (a, b) = await ConnectAsync();
        _network.ReadSlowly("B", from: "A", bytesPerSecond: 1000, window: 1000);

        At(Ms(10), () => a.Send(Message("m1", 500), Message("m2", 500), Message("m3", 500), Message("m4", 500)));
        _scheduler.AdvanceTo(Ms(5000));

        // m1 and m2 fill the window at once; each message takes 500 ms to read, one after the other; each read frees
        // 500 bytes of window, and the sender's next pass (a tick later) pulls one more.
        var pass = Ms(10) + 1;
        Assert.That(Names(b.Timeline), Is.EqualTo(new[]
        {
            $"{pass + Ms(500)}:m1", $"{pass + Ms(1000)}:m2", $"{pass + Ms(1500)}:m3", $"{pass + Ms(2000)}:m4",
        }));
        Assert.That(Names(a.Writes), Is.EqualTo(new[] { $"{pass}:m1", $"{pass}:m2", $"{pass + Ms(500) + 1}:m3", $"{pass + Ms(1000) + 1}:m4" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _network.ReadSlowly("B", "A", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _network.StopReading("B", "A", window: 0));
    }

    private static long Ms(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds).Ticks;

    /// <summary><paramref name="name"/> padded with dots to <paramref name="size"/> bytes.</summary>
    private static byte[] Message(string name, int size) => Encoding.UTF8.GetBytes(name.PadRight(size, '.'));

    /// <summary>Texts (or "time:text" lines) without their padding.</summary>
    private static string[] Names(IEnumerable<string> texts) => [.. texts.Select(t => t.TrimEnd('.'))];

    private void At(long ticks, Action action) => _scheduler.ScheduleAbsolute(ticks, action);

    /// <summary>Listens at B (limit 2,000 bytes), dials from A (limit 1,000 bytes), starts both ends at tick 0.</summary>
    private async Task<(RecordingLinkHandler A, RecordingLinkHandler B)> ConnectAsync()
    {
        var b = new RecordingLinkHandler(() => _scheduler.Clock);
        await _network.ListenAsync("B", new LinkSettings(AcceptorLimit), b.Attach, CancellationToken.None);
        var a = new RecordingLinkHandler(() => _scheduler.Clock);
        a.Attach(await _network.DialAsync("A", "B", new LinkSettings(DialerLimit), CancellationToken.None));
        return (a, b);
    }
}
