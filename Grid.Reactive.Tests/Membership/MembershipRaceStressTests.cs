using System.Reactive.Concurrency;
using System.Reactive.Subjects;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Membership;

/// <summary>On real threads: the host set flips while other threads call, read the live set and subscribe to it.</summary>
[Category("Stress")]
public sealed class MembershipRaceStressTests
{
    [Test]
    public async Task MembershipFlippingOnOneThread_WhileOthersCallAndReadThePeers_EndsEveryCallOnce_AndSettles()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        var log = new CapturingLogger();
        var source = new Subject<IReadOnlyCollection<string>>();
        string[] all = ["m-a", "m-b", "m-c"];
        ManagerOptions Options(string address) => new()
        {
            Address = address,
            Remotes = address == "m-a" ? [] : all,
            Membership = address == "m-a" ? source : null,
            MembershipGracePeriod = TimeSpan.Zero,                   // retire at once: as much churn as possible
            Transport = network,
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            Logger = log,
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(50) },
        };
        await using var a = new Manager(Options("m-a"));
        await using var b = new Manager(Options("m-b"));
        await using var c = new Manager(Options("m-c"));
        foreach (var node in new[] { a, b, c })
        {
            RegisterBasics(node);
            await node.StartAsync();
        }

        source.OnNext(all);
        await a.Connection("m-b").FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(LiveGrid.Guard);
        using var stop = new CancellationTokenSource();
        var unexpected = new List<Exception>();
        var calls = 0;
        using var progress = new SemaphoreSlim(0);
        var answered = 0;

        var flipper = Task.Run(async () =>
        {
            for (var i = 0; i < 400; i++)
            {
                source.OnNext(i % 2 == 0 ? ["m-a", "m-b"] : all);

                // Paced by the callers: at least one call ends between two flips.
                await progress.WaitAsync(LiveGrid.Guard);
            }

            source.OnNext(all);
        });
        var callers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    Interlocked.Increment(ref calls);
                    var answer = await a.Connection("m-c").Request(Echo, Bytes("x"), TimeSpan.FromSeconds(10)).ToTask().WaitAsync(LiveGrid.Guard);
                    Assert.That(Text(answer), Is.EqualTo("m-c:x"));
                    Interlocked.Increment(ref answered);
                }
                catch (Exception e) when (e is ArgumentException or DisconnectedException)
                {
                    // c is not a member right now, or its connection was retired or not yet up.
                }
                catch (Exception e)
                {
                    lock (unexpected)
                    {
                        unexpected.Add(e);
                    }
                }

                progress.Release();
            }
        })).ToArray();
        var readers = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var set = await a.Peers.FirstAsync().ToTask().WaitAsync(LiveGrid.Guard);
                Assert.That(set.Select(p => p.RemoteAddress), Is.Ordered.And.Unique);
                Assert.That(a.Connections.Select(p => p.RemoteAddress), Is.SubsetOf(all));
            }
        });

        await flipper.WaitAsync(LiveGrid.Guard);
        await a.Connection("m-c").FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(LiveGrid.Guard);
        await a.Connection("m-c").Request(Echo, Bytes("settled")).ToTask().WaitAsync(LiveGrid.Guard);
        stop.Cancel();
        await Task.WhenAll([.. callers, readers]).WaitAsync(LiveGrid.Guard);

        Assert.That(unexpected, Is.Empty);
        Assert.That(calls, Is.GreaterThan(0));
        Assert.That(a.Connections.Select(p => p.RemoteAddress), Is.EqualTo(new[] { "m-b", "m-c" }));
        TestContext.Out.WriteLine($"{calls} calls, {answered} answered while the set flipped");
    }
}
