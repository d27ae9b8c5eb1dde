using System.Net;
using System.Net.Sockets;
using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;
using static Grid.Reactive.Tests.Support.VirtualGrid;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Membership;

public sealed class DnsMembershipTests
{
    /// <summary>A resolver whose answer the test sets: addresses, an error, or no answer at all.</summary>
    private sealed class FakeResolver
    {
        public Func<Task<IPAddress[]>> Answer { get; set; } = () => Task.FromResult(Array.Empty<IPAddress>());

        public List<string> Asked { get; } = [];

        public Task<IPAddress[]> Resolve(string name, CancellationToken cancellationToken)
        {
            Asked.Add(name);
            return Answer();
        }

        public void Returns(params string[] addresses) => Answer = () => Task.FromResult(addresses.Select(IPAddress.Parse).ToArray());

        public void Fails(string why) => Answer = () => Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound, why));
    }

    private static string Hosts(IReadOnlyCollection<string> hosts) => string.Join(",", hosts);

    [Test]
    public void LooksUpOnTheInterval_EmitsWhenTheSetChanges_AndKeepsTheLastSetWhileLookupsFail()
    {
        var scheduler = new TestScheduler();
        var resolver = new FakeResolver();
        var logger = new CapturingLogger();
        var source = MembershipSources.FromDns(new DnsMembershipOptions
        {
            HostName = "grid.storage.svc.cluster.local", Port = 7000, Interval = TimeSpan.FromSeconds(5),
            Scheduler = scheduler, Resolver = resolver.Resolve, Logger = logger,
        });
        var seen = scheduler.CreateObserver<string>();
        using var subscription = source.Select(Hosts).Subscribe(seen);

        // Lookups at 0, 5, 10, 15, 20 and 25 s (each one tick late: work due now runs on the next tick).
        resolver.Returns("10.0.0.2", "10.0.0.1");
        scheduler.AdvanceTo(Ms(7000));                        // 0 and 5 s: the same set, emitted once
        resolver.Returns("10.0.0.1", "10.0.0.3", "fd00::4");
        scheduler.AdvanceTo(Ms(12000));                       // 10 s: a new set
        resolver.Fails("NXDOMAIN");
        scheduler.AdvanceTo(Ms(22000));                       // 15 and 20 s fail: the set stays, one warning
        resolver.Returns("10.0.0.3");
        scheduler.AdvanceTo(Ms(27000));                       // 25 s: answers again

        Assert.That(seen.Messages, Is.EqualTo(new[]
        {
            OnNext(1, "10.0.0.1:7000,10.0.0.2:7000"),
            OnNext(Ms(10000) + 1, "10.0.0.1:7000,10.0.0.3:7000,[fd00::4]:7000"),
            OnNext(Ms(25000) + 1, "10.0.0.3:7000"),
        }));
        Assert.That(resolver.Asked, Has.Count.EqualTo(6).And.All.EqualTo("grid.storage.svc.cluster.local"));
        var warnings = logger.Lines.Where(l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning).Select(l => l.Text).ToArray();
        Assert.That(warnings, Has.Length.EqualTo(1));
        Assert.That(warnings[0], Does.Contain("DNS lookup of grid.storage.svc.cluster.local failed; keeping the last host set (3 hosts)").And.Contain("NXDOMAIN"));
        Assert.That(logger.Lines.Select(l => l.Text), Has.Some.Contains("answers again (1 hosts)"));
    }

    [Test]
    public void AnEmptyAnswer_OrALookupPastItsTimeout_KeepsTheLastSet_AndTheNextLookupStillRuns()
    {
        var scheduler = new TestScheduler();
        var resolver = new FakeResolver();
        var source = MembershipSources.FromDns(new DnsMembershipOptions
        {
            HostName = "grid", Port = 7000, Interval = TimeSpan.FromSeconds(5), LookupTimeout = TimeSpan.FromSeconds(2),
            Scheduler = scheduler, Resolver = resolver.Resolve, AddressFamily = AddressFamily.InterNetwork,
        });
        var seen = scheduler.CreateObserver<string>();
        using var subscription = source.Select(Hosts).Subscribe(seen);

        resolver.Returns("10.0.0.1", "fd00::1");               // IPv6 filtered out
        scheduler.AdvanceTo(Ms(1000));
        resolver.Returns();                                     // empty: kept
        scheduler.AdvanceTo(Ms(6000));
        resolver.Answer = () => new TaskCompletionSource<IPAddress[]>().Task; // hangs: cancelled at 2 s, kept
        scheduler.AdvanceTo(Ms(11000));
        resolver.Returns("10.0.0.1", "10.0.0.2");
        scheduler.AdvanceTo(Ms(20000));

        Assert.That(seen.Messages, Is.EqualTo(new[]
        {
            OnNext(1, "10.0.0.1:7000"),
            OnNext(Ms(17000) + 1, "10.0.0.1:7000,10.0.0.2:7000"), // the hung lookup at 10 s ended at 12 s; the next at 17 s
        }));
    }

    [Test]
    public void Disposing_StopsTheLookups_AndBadOptionsAreRefusedSayingWhich()
    {
        var scheduler = new TestScheduler();
        var resolver = new FakeResolver();
        resolver.Returns("10.0.0.1");
        var options = new DnsMembershipOptions { HostName = "grid", Port = 7000, Scheduler = scheduler, Resolver = resolver.Resolve };
        var subscription = MembershipSources.FromDns(options).Subscribe(_ => { });
        scheduler.AdvanceTo(Ms(6000));
        subscription.Dispose();
        scheduler.AdvanceTo(Ms(60000));

        Assert.That(resolver.Asked, Has.Count.EqualTo(2));
        Assert.That(() => MembershipSources.FromDns(options with { Port = 0 }), Throws.ArgumentException.With.Message.Contains("Port"));
        Assert.That(() => MembershipSources.FromDns(options with { HostName = "" }), Throws.ArgumentException.With.Message.Contains("HostName"));
        Assert.That(() => MembershipSources.FromDns(options with { Interval = TimeSpan.Zero }), Throws.ArgumentException.With.Message.Contains("Interval"));
    }

    [Test]
    public async Task TheDefaultResolver_ResolvesLocalhost()
    {
        var first = new TaskCompletionSource<IReadOnlyCollection<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = MembershipSources.FromDns(new DnsMembershipOptions { HostName = "localhost", Port = 7000, AddressFamily = AddressFamily.InterNetwork })
            .Subscribe(hosts => first.TrySetResult(hosts));

        Assert.That(await first.Task.WaitAsync(TimeSpan.FromSeconds(30)), Does.Contain("127.0.0.1:7000"));
    }

    [Test]
    public async Task AGridOnDns_ConnectsToAPodThatAppears_AndRetiresOneThatIsGone()
    {
        // The nodes' addresses are what DNS answers, as the pods of a headless service; the in-memory network carries them.
        string[] names = ["10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"];
        var resolver = new FakeResolver();
        resolver.Returns("10.0.0.1", "10.0.0.2");
        await using var grid = new VirtualGrid(names);
        foreach (var name in names)
        {
            var dns = MembershipSources.FromDns(new DnsMembershipOptions
            {
                HostName = "grid.storage.svc.cluster.local", Port = 7000, Interval = TimeSpan.FromSeconds(5),
                Scheduler = grid.Scheduler, Resolver = resolver.Resolve,
            });
            RegisterBasics(grid.Start(name, grid.OptionsFor(name) with { Remotes = [], Membership = dns, MembershipGracePeriod = TimeSpan.FromSeconds(10) }));
        }

        grid.RunMs(1000);
        Assert.That(grid[names[0]].Connection(names[1]).State, Is.EqualTo(ConnectionState.Connected));
        Assert.That(grid[names[0]].Connections, Has.Count.EqualTo(1));

        resolver.Returns("10.0.0.1", "10.0.0.2", "10.0.0.3");  // a pod is ready
        grid.RunMs(10000);
        Assert.That(grid[names[0]].Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { names[1], names[2] }));
        Assert.That(grid[names[2]].Connections.Select(c => $"{c.RemoteAddress} {c.State}"), Is.EqualTo(new[] { names[0] + " Connected", names[1] + " Connected" }));
        Assert.That(grid.AllConnected(), Is.True);

        await grid.StopAsync(names[1]);                         // a pod is gone for good
        resolver.Returns("10.0.0.1", "10.0.0.3");
        grid.RunMs(4000 + 10000 + 1000);                        // next lookup, then the grace period
        Assert.That(grid[names[0]].Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { names[2] }));
        Assert.That(grid[names[2]].Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { names[0] }));
        Assert.That(grid.AllConnected(), Is.True);
    }
}
