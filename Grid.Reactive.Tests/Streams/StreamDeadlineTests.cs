using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Connections;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.Logging;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Streams;

/// <summary>
/// Stream deadlines far beyond what one timer can hold (System.Threading.Timer stops at about 49.7 days): they mean
/// "practically no deadline", on the real default scheduler and in virtual time, whether set here or sent by a peer.
/// </summary>
public sealed class StreamDeadlineTests
{
    private static readonly HandlerId Echoing = new(60);
    private static readonly HandlerId Three = new(61);

    private static TaskCompletionSource _cancelled = new();

    private static void RegisterStreams(Manager node)
    {
        node.RegisterStream(Echoing, async (stream, cancellationToken) =>
        {
            // Kept past the handler's end: the read may end (the caller left) before the token fires.
            var cancelled = _cancelled;
            cancellationToken.Register(() => cancelled.TrySetResult());
            await foreach (var message in stream.ReadAllAsync(cancellationToken))
            {
                await stream.SendAsync(message, cancellationToken);
            }
        });

        // Server push only: three messages, then the end.
        node.RegisterStream(Three, (_, _) => Observable.Range(1, 3).Select(i => Bytes($"{i}")), new StreamHandlerOptions { InCapacity = 0 });
    }

    private static IEnumerable<TimeSpan> FarDeadlines() => [TimeSpan.MaxValue, TimeSpan.FromDays(50)];

    [TestCaseSource(nameof(FarDeadlines))]
    public async Task Real_AFarDeadline_OpensWorksAndCanBeCancelled(TimeSpan timeout)
    {
        _cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var grid = await RealGrid.StartAsync(2, RegisterStreams);
        var stream = grid.From(0, 1).NewStream(Echoing, options: new StreamOptions { Timeout = timeout });
        var echoed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = stream.Subscribe(m => echoed.TrySetResult(Text(m)), e => echoed.TrySetException(e));

        await stream.SendAsync(Bytes("ping")).AsTask().WaitAsync(RealGrid.Guard);
        Assert.That(await echoed.Task.WaitAsync(RealGrid.Guard), Is.EqualTo("ping"));

        subscription.Dispose();
        await _cancelled.Task.WaitAsync(RealGrid.Guard);
        var answer = await grid.From(0, 1).Request(Echo, Bytes("after")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(answer), Is.EqualTo($"{grid.Nodes[1].Address}:after"));
        Assert.That(grid.From(0, 1).State, Is.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public async Task Real_APeersLargestDeadline_OnTheWire_IsServed_AndTheLinkStays()
    {
        var logger = new CapturingLogger();
        await using var pair = await NodeWithRawPeer.StartAsync(o => o with { Logger = logger }, node =>
        {
            RegisterBasics(node);
            RegisterStreams(node);
        });
        var (peer, acceptor) = (pair.Peer, pair.Node.Address);

        peer.Send(new Frame(Op.StreamConnect, 1, deadlineMs: uint.MaxValue, handlerId: Three.Value, flags: FrameFlags.Empty));
        Assert.That(SpinWait.SpinUntil(() => Count(peer, Op.StreamCloseToClient) == 1 || peer.Closed, RealGrid.Guard), Is.True);
        peer.Send(new Frame(Op.Request, 3, handlerId: Echo.Value, payload: Bytes("after")));
        Assert.That(SpinWait.SpinUntil(() => Count(peer, Op.Response) == 1 || peer.Closed, RealGrid.Guard), Is.True);

        Assert.That(peer.Closed, Is.False, "the link stays up");
        Assert.That(peer.Snapshot().Where(f => f.Op is Op.StreamAck or Op.StreamMessageToClient or Op.StreamCloseToClient).Select(f => f.Op),
            Is.EqualTo(new[] { Op.StreamAck, Op.StreamMessageToClient, Op.StreamMessageToClient, Op.StreamMessageToClient, Op.StreamCloseToClient }));
        Assert.That(Text(peer.Snapshot().Single(f => f.Op == Op.Response).Payload.ToArray()), Is.EqualTo($"{acceptor}:after"));
        Assert.That(logger.Lines.Where(l => l.Level >= LogLevel.Warning), Is.Empty);
    }


    private static int Count(RawPeer peer, Op op) => peer.Snapshot().Count(f => f.Op == op);

    [Test]
    public async Task Virtual_NoPracticalDeadline_ATimeSpanMaxValueStreamStaysOpen()
    {
        await using var grid = new VirtualGrid(["a", "b"], o => o with { PingInterval = TimeSpan.FromMinutes(10), PingTimeout = TimeSpan.FromMinutes(30), StreamPingInterval = TimeSpan.FromMinutes(10), StreamTimeout = TimeSpan.FromMinutes(30) });
        grid.StartAll();
        RegisterStreams(grid["b"]);
        grid.RunMs(10);
        var stream = grid["a"].Connection("b").NewStream(Echoing, options: new StreamOptions { Timeout = TimeSpan.MaxValue });
        var received = grid.Scheduler.CreateObserver<byte[]>();
        using var subscription = stream.Subscribe(received);

        grid.Run(TimeSpan.FromDays(60));
        stream.OnNext(Bytes("still here"));
        grid.RunMs(10);

        Assert.That(received.Messages.Select(m => m.Value.Kind), Is.EqualTo(new[] { System.Reactive.NotificationKind.OnNext }), "no deadline in sixty days: " + string.Join(", ", received.Messages.Select(m => m.Time + " " + m.Value)));
        Assert.That(Text(received.Messages[0].Value.Value), Is.EqualTo("still here"));
    }

    [Test]
    public async Task Virtual_ADeadlineLongerThanOneTimer_StillEndsTheStreamExactlyOnTime()
    {
        await using var grid = new VirtualGrid(["a", "b"], o => o with { PingInterval = TimeSpan.FromMinutes(10), PingTimeout = TimeSpan.FromMinutes(30), StreamPingInterval = TimeSpan.FromMinutes(10), StreamTimeout = TimeSpan.FromMinutes(30) });
        grid.StartAll();
        RegisterStreams(grid["b"]);
        grid.RunMs(10);
        var stream = grid["a"].Connection("b").NewStream(Echoing, options: new StreamOptions { Timeout = TimeSpan.FromDays(40) });
        var received = grid.Scheduler.CreateObserver<byte[]>();
        using var subscription = stream.Subscribe(received);

        grid.Run(TimeSpan.FromDays(40) - TimeSpan.FromMilliseconds(1));
        Assert.That(received.Messages, Is.Empty);
        grid.RunMs(10);

        Assert.That(received.Messages.Single().Value.Exception, Is.TypeOf<DeadlineExceededException>());
        Assert.That(received.Messages.Single().Time, Is.EqualTo(VirtualGrid.Ms(10) + TimeSpan.FromDays(40).Ticks + VirtualGrid.Tick), "opened at 10 ms; one dispatch after the deadline");
    }
}
