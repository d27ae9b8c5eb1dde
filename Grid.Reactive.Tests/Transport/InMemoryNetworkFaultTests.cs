using System.Reactive.Concurrency;
using Grid.Reactive.Transport;
using Microsoft.Reactive.Testing;

namespace Grid.Reactive.Tests.Transport;

/// <summary>
/// The in-memory network's whole-grid faults: partitions, heal-all and a node's links ending as in a crash.
/// Times are virtual ticks; as in <see cref="InMemoryNetworkTests"/>, what becomes deliverable at tick t is delivered
/// at t + 1, and a message sent at t with no latency arrives at t + 2.
/// </summary>
public sealed class InMemoryNetworkFaultTests
{
    private static readonly LinkSettings Settings = new(MaxMessageSize: 1024 * 1024);

    private TestScheduler _scheduler = null!;
    private InMemoryNetwork _network = null!;
    private Dictionary<string, List<RecordingLinkHandler>> _accepted = null!;

    [SetUp]
    public async Task SetUp()
    {
        _scheduler = new TestScheduler();
        _network = new InMemoryNetwork(_scheduler);
        _accepted = [];
        foreach (var address in new[] { "A", "B", "C", "D" })
        {
            _accepted[address] = [];
            await _network.ListenAsync(address, Settings, link =>
            {
                var handler = new RecordingLinkHandler(() => _scheduler.Clock);
                handler.Attach(link);
                _accepted[address].Add(handler);
            }, CancellationToken.None);
        }
    }

    [Test]
    public async Task Partition_closes_every_link_across_groups_and_none_within_one_until_HealAll()
    {
        var ab = await ConnectAsync("A", "B");
        var ac = await ConnectAsync("A", "C");
        var cd = await ConnectAsync("C", "D");
        var bd = await ConnectAsync("B", "D");

        _network.Partition(["A", "B"], ["C", "D"]);
        _scheduler.AdvanceBy(10);

        Assert.That(ab.IsClosed || cd.IsClosed, Is.False, "links within a group stay up");
        Assert.That(ac.CloseError, Is.TypeOf<DisconnectedException>().With.Message.Contains("cut"));
        Assert.That(bd.CloseError, Is.TypeOf<DisconnectedException>());
        Assert.That(_accepted["C"].Single(h => h.IsClosed).CloseError, Is.TypeOf<DisconnectedException>(), "both ends close");
        Assert.That(_network.LiveLinkCount, Is.EqualTo(2));
        Assert.ThrowsAsync<IOException>(async () => await _network.DialAsync("D", "A", Settings, CancellationToken.None));

        _network.HealAll();
        await ConnectAsync("D", "A");
        Assert.That(_network.LiveLinkCount, Is.EqualTo(3));
        Assert.Throws<ArgumentException>(() => _network.Partition(["A"], ["A", "B"]));
    }

    [Test]
    public async Task HealAll_releases_every_hold_in_order_and_cancels_pending_drops()
    {
        var a = await ConnectAsync("A", "B");
        var b = _accepted["B"].Single();
        At(5, () => _network.Hold("A", "B"));
        At(10, () => a.Send("m1", "m2"));
        At(15, () => _network.DropNext("A", "B", 3));
        At(100, _network.HealAll);
        At(200, () => a.Send("m3"));
        _scheduler.AdvanceTo(1_000);

        Assert.That(b.Timeline, Is.EqualTo(new[] { "101:m1", "101:m2", "202:m3" }));
    }

    [Test]
    public async Task Abort_resets_both_ends_of_every_link_of_the_address_and_leaves_the_others()
    {
        var ab = await ConnectAsync("A", "B");
        var bc = await ConnectAsync("B", "C");
        var ac = await ConnectAsync("A", "C");

        _network.Abort("B");
        _scheduler.AdvanceBy(10);

        Assert.That(ab.CloseError, Is.TypeOf<DisconnectedException>().With.Message.Contains("B went away"));
        Assert.That(bc.CloseError, Is.TypeOf<DisconnectedException>());
        Assert.That(_accepted["B"].Single().IsClosed && _accepted["C"].Count(h => h.IsClosed) == 1, Is.True);
        Assert.That(ac.IsClosed, Is.False);
        await ConnectAsync("A", "B");
        Assert.That(_network.LiveLinkCount, Is.EqualTo(2), "nothing is left cut");
    }

    [Test]
    public async Task Abort_without_peersNotice_leaves_the_peers_end_open_hearing_nothing()
    {
        var a = await ConnectAsync("A", "B");
        var b = _accepted["B"].Single();

        _network.Abort("B", peersNotice: false);
        At(20, () => a.Send("into the void"));
        _scheduler.AdvanceTo(1_000);

        Assert.That(b.ClosedAt, Is.EqualTo(1));
        Assert.That(b.Received, Is.Empty);
        Assert.That(a.IsClosed, Is.False, "half-open: nothing tells A");
        a.Link!.Close(null);
        _scheduler.AdvanceBy(10);
        Assert.That(a.ClosedCount, Is.EqualTo(1));
        Assert.That(a.Violations + b.Violations, Is.Zero);
    }

    private void At(long ticks, Action action) => _scheduler.ScheduleAbsolute(ticks, action);

    private async Task<RecordingLinkHandler> ConnectAsync(string from, string to)
    {
        var handler = new RecordingLinkHandler(() => _scheduler.Clock);
        handler.Attach(await _network.DialAsync(from, to, Settings, CancellationToken.None));
        return handler;
    }
}
