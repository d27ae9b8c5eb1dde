using System.Reactive.Linq;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Diagnostics;

public sealed class MetricsTests
{
    private static readonly HandlerId Slow = new(5);
    private static readonly HandlerId Stream = new(6);

    private static MetricCollector<T> Collect<T>(TestMeterFactory meters, string instrument)
        where T : struct => new(meters, GridDiagnostics.MeterName, instrument);

    private static (VirtualGrid Grid, TestMeterFactory Meters) Start(params string[] names)
    {
        var meters = new TestMeterFactory();
        var grid = new VirtualGrid(names, o => o with { MeterFactory = meters });
        return (grid, meters);
    }

    [Test]
    public async Task ARequest_RecordsItsDuration_OnBothSides_ByMethodAndOutcome()
    {
        var (grid, meters) = Start("a", "b");
        using var _ = meters;
        await using var __ = grid;
        using var client = Collect<double>(meters, "rpc.client.call.duration");
        using var server = Collect<double>(meters, "rpc.server.call.duration");
        grid.StartAll();
        RegisterBasics(grid["b"]);
        grid["b"].Register(Slow, _ => Observable.Timer(TimeSpan.FromSeconds(2), grid.Scheduler).Select(_ => Bytes("late")));
        grid.RunMs(10);

        grid["a"].Connection("b").Request(Slow, Bytes("x")).Subscribe(_ => { }, _ => { });
        grid["a"].Connection("b").Request(Fail, Bytes("x")).Subscribe(_ => { }, _ => { });
        grid.RunMs(3000);

        var ok = client.GetMeasurementSnapshot().Single(m => (string?)m.Tags["rpc.method"] == "5");
        Assert.That(ok.Tags["rpc.system"], Is.EqualTo("grid.reactive"));
        Assert.That(ok.Tags["server.address"], Is.EqualTo("b"));
        Assert.That(ok.Tags["grid.outcome"], Is.EqualTo("ok"));
        Assert.That(ok.Tags["grid.call.kind"], Is.EqualTo("request"));
        Assert.That(ok.Value, Is.InRange(2.0, 2.1), "virtual seconds: two of the handler plus the hops");
        var failed = client.GetMeasurementSnapshot().Single(m => (string?)m.Tags["rpc.method"] == "2");
        Assert.That(failed.Tags["grid.outcome"], Is.EqualTo("remote_error"));
        Assert.That(failed.Tags["error.type"], Is.EqualTo(typeof(RemoteException).FullName));

        var served = server.GetMeasurementSnapshot().Single(m => (string?)m.Tags["rpc.method"] == "5");
        Assert.That(served.Tags["grid.outcome"], Is.EqualTo("ok"));
        Assert.That(served.Value, Is.InRange(2.0, 2.1));
        var threw = server.GetMeasurementSnapshot().Single(m => (string?)m.Tags["rpc.method"] == "2");
        Assert.That(threw.Tags["grid.outcome"], Is.EqualTo("error"));
        Assert.That(threw.Tags["error.type"], Is.EqualTo(typeof(InvalidOperationException).FullName));
    }

    [Test]
    public async Task ACancelledRequest_IsRecordedAsCancelled()
    {
        var (grid, meters) = Start("a", "b");
        using var _ = meters;
        await using var __ = grid;
        using var client = Collect<double>(meters, "rpc.client.call.duration");
        grid.StartAll();
        var hanging = new Hanging(grid.Scheduler);
        grid["b"].Register(Hang, hanging.Serve);
        grid.RunMs(10);

        var call = grid["a"].Connection("b").Request(Hang, Bytes("x")).Subscribe(_ => { }, _ => { });
        grid.RunMs(500);
        call.Dispose();
        grid.RunMs(10);

        Assert.That(client.GetMeasurementSnapshot().Select(m => m.Tags["grid.outcome"]), Is.EqualTo(new[] { "cancelled" }));
        Assert.That(client.LastMeasurement!.Value, Is.InRange(0.5, 0.51));
    }

    [Test]
    public async Task Bytes_And_Messages_AreCounted_BothWays()
    {
        var (grid, meters) = Start("a", "b");
        using var _ = meters;
        await using var __ = grid;
        using var bytes = Collect<long>(meters, "grid.io.bytes");
        using var messages = Collect<long>(meters, "grid.io.messages");
        grid.StartAll();
        grid.RunMs(10);

        foreach (var direction in new[] { "transmit", "receive" })
        {
            var sent = bytes.GetMeasurementSnapshot().Where(m => (string?)m.Tags["network.io.direction"] == direction).Sum(m => m.Value);
            var count = messages.GetMeasurementSnapshot().Where(m => (string?)m.Tags["network.io.direction"] == direction).Sum(m => m.Value);
            Assert.That(count, Is.GreaterThanOrEqualTo(2), direction + ": a handshake each way");
            Assert.That(sent, Is.GreaterThan(count * 10), direction);
        }

        Assert.That(bytes.GetMeasurementSnapshot().Where(m => (string?)m.Tags["network.io.direction"] == "transmit").Sum(m => m.Value),
            Is.EqualTo(bytes.GetMeasurementSnapshot().Where(m => (string?)m.Tags["network.io.direction"] == "receive").Sum(m => m.Value)),
            "what one node sends, the other receives");
    }

    [Test]
    public async Task Dials_AreCounted_ByOutcome()
    {
        var (dialer, acceptor) = Pair("a", "b");
        var (grid, meters) = Start(dialer, acceptor);
        using var _ = meters;
        await using var __ = grid;
        using var dials = Collect<long>(meters, "grid.dials");
        grid.Start(dialer);
        grid.RunMs(1000);
        grid.Start(acceptor);
        grid.RunMs(3000);

        var byOutcome = dials.GetMeasurementSnapshot().GroupBy(m => (string?)m.Tags["grid.dial.outcome"]).ToDictionary(g => g.Key!, g => g.Sum(m => m.Value));
        Assert.That(byOutcome["connected"], Is.EqualTo(1));
        Assert.That(byOutcome["failed"], Is.InRange(3, 6));
    }

    [Test]
    public async Task HandshakeRefusals_AreCounted_ByReason()
    {
        var (dialer, acceptor) = Pair("a", "b");
        var (grid, meters) = Start(dialer, acceptor);
        using var _ = meters;
        await using var __ = grid;
        using var refusals = Collect<long>(meters, "grid.handshake.refusals");
        grid.Start(acceptor);
        grid.Start(dialer, grid.OptionsFor(dialer) with
        {
            Authenticator = new SharedSecretAuthenticator("another secret, long enough for the authenticator"u8.ToArray()),
        });
        grid.RunMs(1000);

        Assert.That(refusals.GetMeasurementSnapshot(), Is.Not.Empty);
        Assert.That(refusals.GetMeasurementSnapshot().Select(m => m.Tags["grid.refusal.reason"]).Distinct(), Is.EqualTo(new[] { "auth" }));
    }

    [Test]
    public async Task Connections_ActiveCalls_Streams_AndQueuedBytes_AreObservable_PerNode()
    {
        var (grid, meters) = Start("a", "b", "c");
        using var _ = meters;
        await using var __ = grid;
        using var connections = Collect<int>(meters, "grid.connections");
        using var calls = Collect<int>(meters, "grid.calls.active");
        using var streams = Collect<int>(meters, "grid.streams.active");
        using var queued = Collect<long>(meters, "grid.queue.bytes");
        grid.Start("a");
        grid.Start("b");
        grid.RunMs(10);
        var hanging = new Hanging(grid.Scheduler);
        grid["b"].Register(Hang, hanging.Serve);
        grid["b"].RegisterStream(Stream, (_, incoming) => incoming);
        grid["a"].Connection("b").Request(Hang, Bytes("x")).Subscribe(_ => { }, _ => { });
        grid["a"].Connection("b").NewStream(Stream).Subscribe(_ => { });
        grid.RunMs(10);

        connections.RecordObservableInstruments();
        calls.RecordObservableInstruments();
        streams.RecordObservableInstruments();
        queued.RecordObservableInstruments();

        int Value(MetricCollector<int> collector, string node, string tag, string value) =>
            collector.GetMeasurementSnapshot().Single(m => (string?)m.Tags["grid.node"] == node && (string?)m.Tags[tag] == value).Value;

        Assert.That(Value(connections, "a", "grid.connection.state", "connected"), Is.EqualTo(1));
        Assert.That(connections.GetMeasurementSnapshot().Where(m => (string?)m.Tags["grid.node"] == "a").Sum(m => m.Value), Is.EqualTo(2), "a has two peers");
        Assert.That(connections.GetMeasurementSnapshot().Where(m => (string?)m.Tags["grid.node"] == "c"), Is.Empty, "c is not up");
        Assert.That(Value(calls, "a", "grid.call.side", "client"), Is.EqualTo(1));
        Assert.That(Value(calls, "a", "grid.call.side", "server"), Is.Zero);
        Assert.That(Value(calls, "b", "grid.call.side", "server"), Is.EqualTo(1));
        Assert.That(streams.GetMeasurementSnapshot().Where(m => (string?)m.Tags["grid.node"] is "a" or "b").Select(m => m.Value), Is.EqualTo(new[] { 1, 1 }));
        Assert.That(queued.GetMeasurementSnapshot().Select(m => m.Value), Is.All.Zero, "everything written");
        Assert.That(queued.GetMeasurementSnapshot(), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task AStreamSenderWaitingForCredit_IsCounted()
    {
        var (grid, meters) = Start("a", "b");
        using var _ = meters;
        await using var __ = grid;
        using var waits = Collect<long>(meters, "grid.stream.credit_waits");
        grid.StartAll();
        // A handler that takes one message of credit and never reads: the caller's second send waits.
        grid["b"].RegisterStream(Stream, (_, cancellationToken) =>
        {
            var never = new TaskCompletionSource();
            cancellationToken.Register(() => never.TrySetCanceled());
            return never.Task;
        }, new StreamHandlerOptions { InCapacity = 1 });
        grid.RunMs(10);
        var stream = grid["a"].Connection("b").NewStream(Stream);
        using var subscription = stream.Subscribe(_ => { }, _ => { });
        grid.RunMs(10);

        var first = stream.SendAsync(Bytes("1"));
        var second = stream.SendAsync(Bytes("2"));
        grid.RunMs(10);

        Assert.That(first.IsCompleted, Is.True);
        Assert.That(second.IsCompleted, Is.False);
        Assert.That(waits.GetMeasurementSnapshot().Sum(m => m.Value), Is.EqualTo(1));
    }

    [Test]
    public async Task NobodyListening_NoInstrumentIsEnabled_AndACallCarriesNoTelemetry()
    {
        var (grid, meters) = Start("a", "b");
        using var _ = meters;
        await using var __ = grid;
        grid.StartAll();
        RegisterBasics(grid["b"]);
        grid.RunMs(10);
        var frames = new List<Frame>();
        using var tracing = grid["a"].Connection("b").FramesOut.Subscribe(frames.Add);

        grid["a"].Connection("b").Request(Echo, Bytes("x")).Subscribe(_ => { });
        grid.RunMs(10);

        var session = grid["a"].Connection("b").CurrentSession!;
        Assert.That(session.Grid.Metrics.ClientCallDuration.Enabled, Is.False);
        Assert.That(Grid.Reactive.Diagnostics.ClientCallTelemetry.TryStart(session.Grid, session, Echo.Value, null, "request"), Is.Null);
        Assert.That(frames.Single(f => f.Op == Op.Request).TraceContext.IsEmpty, Is.True);
    }
}
