using Grid.Reactive.Tests.Support;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Connections;

public sealed class ProtocolErrorTests
{
    private static IEnumerable<TestCaseData> Corruptions()
    {
        yield return new TestCaseData((Func<byte[], byte[]>)(m => m[..(m.Length / 2)])).SetName("Truncated");
        yield return new TestCaseData((Func<byte[], byte[]>)(m => [.. m, 0xc1])).SetName("TrailingGarbage");
        yield return new TestCaseData((Func<byte[], byte[]>)(_ => [0x97, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x00, 0xc0])).SetName("UnknownOp");
        yield return new TestCaseData((Func<byte[], byte[]>)(_ => [0xdd, 0xff, 0xff, 0xff, 0xff])).SetName("LyingArrayLength");
    }

    [TestCaseSource(nameof(Corruptions))]
    public async Task MalformedFrameOnALiveConnection_ClosesIt_FailsItsCalls_AndItIsRedialled(Func<byte[], byte[]> corrupt)
    {
        var (dialer, acceptor) = Pair("a", "b");
        var log = new CapturingLogger();
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(dialer, grid.OptionsFor(dialer) with { Logger = log });
        grid.Start(acceptor);
        var hanging = new Hanging(grid.Scheduler);
        grid[acceptor].Register(Hang, hanging.Serve);
        RegisterBasics(grid[acceptor]);
        grid.RunMs(10);
        var inFlight = grid.Scheduler.CreateObserver<byte[]>();
        grid[dialer].Connection(acceptor).Request(Hang, Bytes("x")).Subscribe(inFlight);
        grid.RunMs(10);

        // The next message from the acceptor (its answer to a ping, or anything) arrives mangled.
        grid.Network.CorruptNext(acceptor, dialer, corrupt);
        grid[dialer].Connection(acceptor).Request(Echo, Bytes("trigger")).Subscribe(_ => { }, _ => { });
        grid.RunMs(10);

        Assert.That(inFlight.Messages.Single().Value.Exception, Is.TypeOf<DisconnectedException>()
            .With.InnerException.TypeOf<ProtocolException>());
        Assert.That(log.Lines.Select(l => l.Text), Has.Some.Contains("Protocol error"));
        Assert.That(hanging.CancelledAt, Has.Count.EqualTo(1), "the remote handler of the lost call was cancelled");

        grid.RunMs(1000);
        Assert.That(grid.AllConnected(), Is.True, "redialled without anyone asking");
        var again = grid.Scheduler.CreateObserver<string>();
        grid[dialer].Connection(acceptor).Request(Echo, Bytes("again")).Select(Text).Subscribe(again);
        grid.RunMs(10);
        Assert.That(again.Messages[0].Value.Value, Is.EqualTo(acceptor + ":again"));
    }
}
