using System.Reactive.Concurrency;
using System.Text;
using Grid.Reactive.Transport;
using Microsoft.Reactive.Testing;
using NUnit.Framework;

namespace Grid.Reactive.Tests.Transport;

/// <summary>
/// The in-memory transport under a TestScheduler. Times are virtual ticks. TestScheduler runs work scheduled for "now"
/// one tick later, so: a flush requested at tick t runs its writer pass at t + 1; a message written in that pass is
/// delivered at t + 1 + latency, or at t + 2 when the latency is zero; whatever becomes deliverable at tick t on the
/// receiving side (a start, a release, a close) is delivered at t + 1.
/// </summary>
public sealed class InMemoryNetworkTests
{
    private static readonly LinkSettings Settings = new(MaxMessageSize: 1024 * 1024);
    private static readonly TimeSpan Latency100 = TimeSpan.FromTicks(100);

    private TestScheduler _scheduler = null!;
    private InMemoryNetwork _network = null!;
    private IAsyncDisposable? _listener;

    [SetUp]
    public void SetUp()
    {
        _scheduler = new TestScheduler();
        _network = new InMemoryNetwork(_scheduler);
    }

    [Test]
    public async Task Messages_are_delivered_in_order_at_send_time_plus_latency()
    {
        _network.SetLatency("A", "B", Latency100);
        _network.SetLatency("B", "A", TimeSpan.FromTicks(30));
        var (a, b) = await ConnectAsync();

        At(10, () => a.Send("a1", "a2"));
        At(50, () => a.Send("a3"));
        At(60, () => b.Send("b1"));
        _scheduler.Start();

        Assert.That(b.Timeline, Is.EqualTo(new[] { "111:a1", "111:a2", "151:a3" }));
        Assert.That(a.Timeline, Is.EqualTo(new[] { "91:b1" }));
        Assert.That(a.Violations + b.Violations, Is.Zero);
    }

    [Test]
    public async Task Default_latency_applies_to_directions_without_their_own()
    {
        _network.DefaultLatency = TimeSpan.FromTicks(20);
        _network.SetLatency("B", "A", TimeSpan.FromTicks(5));
        var (a, b) = await ConnectAsync();

        At(10, () => a.Send("x"));
        At(10, () => b.Send("y"));
        _scheduler.Start();

        Assert.That(b.Timeline, Is.EqualTo(new[] { "31:x" }));
        Assert.That(a.Timeline, Is.EqualTo(new[] { "16:y" }));
    }

    [Test]
    public async Task Nothing_is_delivered_before_start_and_everything_after_it_in_order()
    {
        var (a, bLink) = await ConnectUnstartedAcceptorAsync();
        var b = new RecordingLinkHandler(() => _scheduler.Clock);

        At(10, () => a.Send("m1", "m2"));
        At(20, () => a.Send("m3"));
        _scheduler.AdvanceTo(500);
        Assert.That(b.Received, Is.Empty);

        b.Attach(bLink);
        _scheduler.Start();

        Assert.That(b.Timeline, Is.EqualTo(new[] { "501:m1", "501:m2", "501:m3" }));
    }

    [Test]
    public async Task A_flush_sends_each_written_message_separately_and_merges_nothing()
    {
        var (a, b) = await ConnectAsync();
        _scheduler.AdvanceTo(5);
        var callsBefore = a.TryWriteCalls;

        At(10, () =>
        {
            a.Queue([.. new[] { "one", "two", "three" }.Select(Encoding.UTF8.GetBytes)]);
            a.Link!.RequestFlush();
            a.Link!.RequestFlush();
        });
        _scheduler.Start();

        Assert.That(b.Timeline, Is.EqualTo(new[] { "12:one", "12:two", "12:three" }));
        // One pass: three messages written, then false; the second request, made while the pass was pending, makes it
        // ask once more (it cannot know the first round already covered it).
        Assert.That(a.TryWriteCalls - callsBefore, Is.EqualTo(5));
    }

    [Test]
    public async Task A_flush_requested_from_inside_OnMessage_is_not_lost()
    {
        var (a, bLink) = await ConnectUnstartedAcceptorAsync();
        var b = new EchoHandler();
        b.Start(bLink);

        At(10, () => a.Send("ping1", "ping2"));
        _scheduler.Start();

        Assert.That(a.Timeline, Is.EqualTo(new[] { "14:echo ping1", "14:echo ping2" }));
    }

    [Test]
    public async Task Cut_closes_both_sides_and_refuses_dials_until_heal()
    {
        _network.SetLatency("A", "B", Latency100);
        var (a, b) = await ConnectAsync();
        At(10, () => a.Send("lost in the cut"));
        At(50, () => _network.Cut("B", "A"));
        _scheduler.Start();

        Assert.That(b.Received, Is.Empty);
        Assert.That(a.ClosedAt, Is.EqualTo(51));
        Assert.That(b.ClosedAt, Is.EqualTo(51));
        Assert.That(a.CloseError, Is.TypeOf<DisconnectedException>().With.Message.Contains("B<->A cut"));
        Assert.That(b.CloseError, Is.TypeOf<DisconnectedException>().With.Message.Contains("B<->A cut"));
        Assert.That(_network.LiveLinkCount, Is.Zero);

        var refused = Assert.ThrowsAsync<IOException>(async () => await DialAsync("A", "B"));
        Assert.That(refused!.Message, Does.Contain("A<->B is cut"));
        Assert.ThrowsAsync<IOException>(async () => await DialAsync("B", "A"));

        _network.Heal("A", "B");
        var link = await DialAsync("A", "B");
        Assert.That(_network.LiveLinkCount, Is.EqualTo(1));
        link.Close(null);
        Assert.That(_network.LiveLinkCount, Is.Zero);
    }

    [Test]
    public async Task Cut_leaves_links_between_other_nodes_alone()
    {
        await using var listener = await ListenAsync("C", _ => { });
        var (a, b) = await ConnectAsync();
        var ac = await DialAsync("A", "C");

        _network.Cut("B", "C");
        _scheduler.Start();

        Assert.That(a.IsClosed || b.IsClosed, Is.False);
        Assert.That(_network.LiveLinkCount, Is.EqualTo(2));
        ac.Close(null);
    }

    [Test]
    public async Task Hold_keeps_messages_in_order_until_release()
    {
        _network.SetLatency("A", "B", Latency100);
        var (a, b) = await ConnectAsync();
        At(5, () => _network.Hold("A", "B"));
        At(10, () => a.Send("m1", "m2"));
        At(20, () => a.Send("m3"));
        At(300, () => b.Send("not held"));
        At(500, () => a.Send("m4"));
        At(550, () => _network.Release("A", "B"));
        _scheduler.Start();

        // m1..m3 were due while held: delivered just after the release; m4 is still due at 601.
        Assert.That(b.Timeline, Is.EqualTo(new[] { "551:m1", "551:m2", "551:m3", "601:m4" }));
        Assert.That(a.Timeline, Is.EqualTo(new[] { "302:not held" }));
    }

    [Test]
    public async Task DropNext_drops_exactly_that_many_messages_in_that_direction()
    {
        var (a, b) = await ConnectAsync();
        _network.DropNext("A", "B", 2);
        At(10, () => a.Send("m1", "m2", "m3"));
        At(20, () => a.Send("m4"));
        At(30, () => b.Send("b1"));
        _scheduler.Start();

        Assert.That(b.Timeline, Is.EqualTo(new[] { "12:m3", "22:m4" }));
        Assert.That(a.Timeline, Is.EqualTo(new[] { "32:b1" }));
    }

    [Test]
    public async Task Close_reaches_the_peer_after_the_messages_in_flight()
    {
        _network.SetLatency("A", "B", Latency100);
        var (a, b) = await ConnectAsync();
        At(10, () => a.Send("m1", "m2"));
        At(20, () => a.Link!.Close(null));
        At(30, () => b.Send("too late"));
        _scheduler.Start();

        // An orderly close goes out from the writer's next pass (a tick later), behind anything still queued.
        Assert.That(b.Timeline, Is.EqualTo(new[] { "111:m1", "111:m2" }));
        Assert.That(b.ClosedAt, Is.EqualTo(121));
        Assert.That(b.CloseError, Is.Null);
        Assert.That(a.ClosedAt, Is.EqualTo(22));
        Assert.That(a.CloseError, Is.Null);
        Assert.That(a.Received, Is.Empty);
        Assert.That(a.Violations + b.Violations, Is.Zero);
    }

    [Test]
    public async Task Close_with_an_error_gives_it_locally_and_a_DisconnectedException_to_the_peer()
    {
        var (a, b) = await ConnectAsync();
        var reason = new ProtocolException("bad frame");
        At(10, () => b.Link!.Close(reason));
        At(10, () => b.Link!.Close(new InvalidOperationException("ignored: already closed")));
        _scheduler.Start();

        Assert.That(b.CloseError, Is.SameAs(reason));
        Assert.That(a.CloseError, Is.TypeOf<DisconnectedException>().With.Message.Contains("bad frame"));
        Assert.That(a.ClosedCount + b.ClosedCount, Is.EqualTo(2));
        Assert.That(_network.LiveLinkCount, Is.Zero);
    }

    [Test]
    public async Task Closing_before_start_reports_on_start()
    {
        var (a, bLink) = await ConnectUnstartedAcceptorAsync();
        var b = new RecordingLinkHandler(() => _scheduler.Clock);
        At(10, () => a.Link!.Close(null));
        _scheduler.AdvanceTo(100);
        b.Attach(bLink);
        _scheduler.Start();

        Assert.That(b.ClosedAt, Is.EqualTo(101));
        Assert.That(b.CloseError, Is.Null);
    }

    [Test]
    public void Dialing_an_address_nobody_listens_at_fails()
    {
        var error = Assert.ThrowsAsync<IOException>(async () => await DialAsync("A", "nowhere"));
        Assert.That(error!.Message, Does.Contain("no node listens at nowhere"));
    }

    [Test]
    public async Task A_second_listener_on_the_same_address_fails_until_the_first_is_disposed()
    {
        var first = await ListenAsync("B", _ => { });
        Assert.ThrowsAsync<InvalidOperationException>(async () => await ListenAsync("B", _ => { }));
        await first.DisposeAsync();
        await using var second = await ListenAsync("B", _ => { });
    }

    [Test]
    public async Task A_disposed_listener_accepts_no_more_links_and_existing_links_stay_up()
    {
        var (a, b) = await ConnectAsync();
        await _listener!.DisposeAsync();

        Assert.ThrowsAsync<IOException>(async () => await DialAsync("A", "B"));
        At(10, () => a.Send("still up"));
        _scheduler.Start();
        Assert.That(b.ReceivedTexts, Is.EqualTo(new[] { "still up" }));
        Assert.That(_network.LiveLinkCount, Is.EqualTo(1));
    }

    [Test]
    public async Task The_same_scenario_gives_the_same_timeline()
    {
        async Task<string> RunAsync()
        {
            SetUp();
            _network.SetLatency("A", "B", TimeSpan.FromTicks(7));
            var (a, b) = await ConnectAsync();
            for (var i = 0; i < 20; i++)
            {
                var n = i;
                At(10 + (3 * i), () => a.Send($"a{n}"));
                At(10 + (2 * i), () => b.Send($"b{n}"));
            }

            At(45, () => _network.DropNext("B", "A", 1));
            _scheduler.Start();
            return string.Join(",", a.Timeline.Concat(["|"]).Concat(b.Timeline));
        }

        var first = await RunAsync();
        var second = await RunAsync();
        Assert.That(second, Is.EqualTo(first));
        Assert.That(first, Does.StartWith("12:b0,").And.Contain("|,18:a0,"));
    }

    [Test]
    public async Task Under_the_default_scheduler_each_direction_keeps_order_across_threads()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        ILink? accepted = null;
        await using var listener = await network.ListenAsync("B", Settings, link => accepted = link, CancellationToken.None);
        var aLink = await network.DialAsync("A", "B", Settings, CancellationToken.None);
        var a = new RecordingLinkHandler();
        var b = new RecordingLinkHandler();
        a.Attach(aLink);
        b.Attach(accepted!);

        const int PerThread = 500;
        var senders = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                (t % 2 == 0 ? a : b).Send($"{t}:{i}");
            }
        }));
        await Task.WhenAll(senders);
        await a.WaitForMessagesAsync(2 * PerThread).WaitAsync(TimeSpan.FromSeconds(30));
        await b.WaitForMessagesAsync(2 * PerThread).WaitAsync(TimeSpan.FromSeconds(30));

        foreach (var handler in new[] { a, b })
        {
            var byThread = handler.ReceivedTexts.GroupBy(s => s.Split(':')[0]);
            foreach (var group in byThread)
            {
                Assert.That(group.Select(s => int.Parse(s.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)),
                    Is.EqualTo(Enumerable.Range(0, PerThread)));
            }
        }

        aLink.Close(null);
        Assert.That(await b.Closed.WaitAsync(TimeSpan.FromSeconds(30)), Is.Null);
        Assert.That(await a.Closed.WaitAsync(TimeSpan.FromSeconds(30)), Is.Null);
        Assert.That(a.Violations + b.Violations, Is.Zero);
    }

    private void At(long ticks, Action action) => _scheduler.ScheduleAbsolute(ticks, action);

    private async Task<IAsyncDisposable> ListenAsync(string address, Action<ILink> onAccepted) =>
        await _network.ListenAsync(address, Settings, onAccepted, CancellationToken.None);

    private async Task<ILink> DialAsync(string from, string to) =>
        await _network.DialAsync(from, to, Settings, CancellationToken.None);

    /// <summary>Listens at B, dials from A, starts both ends at tick 0.</summary>
    private async Task<(RecordingLinkHandler A, RecordingLinkHandler B)> ConnectAsync()
    {
        var (a, bLink) = await ConnectUnstartedAcceptorAsync();
        var b = new RecordingLinkHandler(() => _scheduler.Clock);
        b.Attach(bLink);
        return (a, b);
    }

    private async Task<(RecordingLinkHandler A, ILink BLink)> ConnectUnstartedAcceptorAsync()
    {
        ILink? accepted = null;
        _listener = await ListenAsync("B", link => accepted = link);
        var aLink = await DialAsync("A", "B");
        Assert.That(accepted, Is.Not.Null, "the acceptor's endpoint is handed over before DialAsync returns");
        var a = new RecordingLinkHandler(() => _scheduler.Clock);
        a.Attach(aLink);
        return (a, accepted!);
    }

    /// <summary>Answers every message with "echo ..." by asking for a flush from inside OnMessage.</summary>
    private sealed class EchoHandler : ILinkHandler
    {
        private readonly Queue<byte[]> _replies = new();
        private ILink? _link;

        public void OnMessage(ReadOnlyMemory<byte> message)
        {
            _replies.Enqueue(Encoding.UTF8.GetBytes("echo " + Encoding.UTF8.GetString(message.Span)));
            _link!.RequestFlush();
        }

        public bool TryWriteMessage(Grid.Reactive.Protocol.PooledBufferWriter output)
        {
            if (!_replies.TryDequeue(out var reply))
            {
                return false;
            }

            reply.CopyTo(output.GetSpan(reply.Length));
            output.Advance(reply.Length);
            return true;
        }

        public void OnClosed(Exception? error)
        {
        }

        public void Start(ILink link)
        {
            _link = link;
            link.Start(this);
        }
    }
}
