using System.Diagnostics;
using System.Globalization;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Diagnostics;

/// <summary>
/// The serving side's span and <c>rpc.server.call.duration</c> of a call that ends other than by its handler's answer:
/// held back before its handler ran, or ended under a running handler (the caller cancelled, the deadline passed, the
/// connection was lost). Each ends exactly once, with what ended it.
/// </summary>
[NonParallelizable]
public sealed class ServerCallEndingTests
{
    private static readonly HandlerId Big = new(70);
    private static readonly HandlerId Held = new(71);
    private static readonly HandlerId Stubborn = new(72);
    private static readonly HandlerId Endless = new(73);

    private TestMeterFactory _meters = null!;
    private ActivityRecorder _spans = null!;
    private MetricCollector<double> _durations = null!;
    private VirtualGrid _grid = null!;
    private int _heldRuns;

    [SetUp]
    public void SetUp()
    {
        _heldRuns = 0;
        _meters = new TestMeterFactory();
        _spans = new ActivityRecorder(parentBased: false, GridDiagnostics.ActivitySourceName);
        _durations = new MetricCollector<double>(_meters, GridDiagnostics.MeterName, "rpc.server.call.duration");
        // A small output budget, so that two unread answers put b over it.
        _grid = new VirtualGrid(["a", "b"], o => o with { MeterFactory = _meters, MaxMergedMessageSize = 4096, MaxQueuedBytes = 4096 }).StartAll();
        var b = _grid["b"];
        b.Register(Big, (_, _) => ValueTask.FromResult(new byte[16 * 1024]));
        b.Register(Held, (payload, _) =>
        {
            _heldRuns++;
            return ValueTask.FromResult(payload);
        });
        // Answers normally once its token fired: the answer is dropped, the call ended for another reason.
        b.Register(Stubborn, (_, cancellationToken) =>
        {
            var answer = new TaskCompletionSource<byte[]>();
            cancellationToken.Register(() => answer.TrySetResult(Bytes("too late")));
            return new ValueTask<byte[]>(answer.Task);
        });
        b.RegisterStream(Endless, (_, _) => Observable.Never<byte[]>());
        _grid.RunMs(10);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _grid.DisposeAsync();
        _durations.Dispose();
        _spans.Dispose();
        _meters.Dispose();
    }

    [Test]
    public void AHeldBackRequest_CancelledByItsCaller_EndsAsCancelled_AndItsHandlerNeverRuns()
    {
        HoldBackOutput();
        var call = _grid["a"].Connection("b").Request(Held, Bytes("x")).Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);
        Assert.That(_heldRuns, Is.EqualTo(0), "held back: b's output is over its budget");
        Assert.That(ServerSpans(Held), Is.Empty, "still waiting: its span is open");

        call.Dispose();
        _grid.RunMs(10);

        var span = ServerSpans(Held).Single();
        Assert.That(span.GetTagItem("grid.outcome"), Is.EqualTo("cancelled"));
        Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(span.GetTagItem("error.type"), Is.EqualTo(typeof(OperationCanceledException).FullName));
        Assert.That(Outcomes(Held), Is.EqualTo(new[] { "cancelled" }));

        _grid.Network.ResumeReading("a", "b");
        _grid.RunMs(10);
        Assert.That(_heldRuns, Is.EqualTo(0), "a call that ended while held back is never served");
        AssertEveryServerSpanEndedOnce();
    }

    [Test]
    public void AHeldBackRequest_PastItsDeadline_EndsAsDeadlineExceeded_WithoutTouchingTheAmbientActivity()
    {
        HoldBackOutput();
        _grid["a"].Connection("b").Request(Held, Bytes("x"), TimeSpan.FromSeconds(1)).Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);

        // The deadline fires on b's loop, here on the test's thread (virtual time): the test's own activity stays current.
        using var ambient = new Activity("test").Start();
        _grid.RunMs(1000);
        Assert.That(Activity.Current, Is.SameAs(ambient));

        var span = ServerSpans(Held).Single();
        Assert.That(span.GetTagItem("grid.outcome"), Is.EqualTo("deadline_exceeded"));
        Assert.That(span.GetTagItem("error.type"), Is.EqualTo(typeof(DeadlineExceededException).FullName));
        Assert.That(Outcomes(Held), Is.EqualTo(new[] { "deadline_exceeded" }));
        Assert.That(_durations.GetMeasurementSnapshot().Single(m => Method(m.Tags) == "71").Value, Is.EqualTo(1.0).Within(0.001),
            "virtual seconds from arrival to the deadline");
        Assert.That(_heldRuns, Is.EqualTo(0));
        AssertEveryServerSpanEndedOnce();
    }

    [Test]
    public void AHeldBackRequest_OnALostConnection_EndsAsDisconnected()
    {
        HoldBackOutput();
        _grid["a"].Connection("b").Request(Held, Bytes("x")).Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);

        _grid.Network.Cut("a", "b");
        _grid.RunMs(10);

        Assert.That(ServerSpans(Held).Single().GetTagItem("grid.outcome"), Is.EqualTo("disconnected"));
        Assert.That(Outcomes(Held), Is.EqualTo(new[] { "disconnected" }));
        Assert.That(_heldRuns, Is.EqualTo(0));
        AssertEveryServerSpanEndedOnce();
    }

    [Test]
    public void ARequestCancelledBeforeItsHandlerStarted_EndsAsCancelled_AndTheHandlerRunsOutsideItsSpan()
    {
        Activity? current = null;
        var ran = false;
        _grid["b"].Register(new HandlerId(74), (payload, _) =>
        {
            ran = true;
            current = Activity.Current;
            return ValueTask.FromResult(payload);
        });

        // The request and its cancel leave in one message: b takes both in before the handler's dispatch runs.
        _grid["a"].Connection("b").Request(new HandlerId(74), Bytes("x")).Subscribe(_ => { }, _ => { }).Dispose();
        _grid.RunMs(10);

        var span = _spans.Stopped().Single(a => a.Kind == ActivityKind.Server && (string?)a.GetTagItem("rpc.method") == "74");
        Assert.That(span.GetTagItem("grid.outcome"), Is.EqualTo("cancelled"));
        Assert.That(Outcomes(new HandlerId(74)), Is.EqualTo(new[] { "cancelled" }));
        Assert.That(ran, Is.True, "dispatched before the cancel came, the handler still runs");
        Assert.That(current, Is.Not.SameAs(span), "the call had ended: its handler is not under its span");
        AssertEveryServerSpanEndedOnce();
    }

    [TestCase("cancel", "cancelled")]
    [TestCase("deadline", "deadline_exceeded")]
    [TestCase("cut", "disconnected")]
    public void ARunningHandlerThatAnswersAfterItsCallEnded_IsRecordedWithWhatEndedTheCall(string ending, string outcome)
    {
        var call = _grid["a"].Connection("b").Request(Stubborn, Bytes("x"), TimeSpan.FromSeconds(1)).Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);
        Assert.That(ServerSpans(Stubborn), Is.Empty, "the handler is running");

        End(ending, call);

        Assert.That(ServerSpans(Stubborn).Single().GetTagItem("grid.outcome"), Is.EqualTo(outcome), "the caller never got the answer");
        Assert.That(Outcomes(Stubborn), Is.EqualTo(new[] { outcome }));
        AssertEveryServerSpanEndedOnce();
    }

    [TestCase("cancel", "cancelled")]
    [TestCase("deadline", "deadline_exceeded")]
    [TestCase("cut", "disconnected")]
    public void AStreamEndedUnderItsHandler_IsRecordedWithWhatEndedIt(string ending, string outcome)
    {
        var stream = _grid["a"].Connection("b").NewStream(Endless, options: new StreamOptions { Timeout = TimeSpan.FromSeconds(1) })
            .Subscribe(_ => { }, _ => { });
        _grid.RunMs(10);
        Assert.That(ServerSpans(Endless), Is.Empty, "the stream is open");

        End(ending, stream);

        var span = ServerSpans(Endless).Single();
        Assert.That(span.GetTagItem("grid.call.kind"), Is.EqualTo("stream"));
        Assert.That(span.GetTagItem("grid.outcome"), Is.EqualTo(outcome));
        Assert.That(Outcomes(Endless), Is.EqualTo(new[] { outcome }));
        AssertEveryServerSpanEndedOnce();
    }

    [Test]
    public async Task ARequestWhoseMuxIdIsTaken_StartsNoSpan_AndTheCallInFlightEndsWithTheConnection()
    {
        var hanging = new Hanging(System.Reactive.Concurrency.DefaultScheduler.Instance);
        await using var pair = await NodeWithRawPeer.StartAsync(o => o with { MeterFactory = _meters }, node => node.Register(Hang, hanging.Serve));
        var peer = pair.Peer;

        peer.Send(new Frame(Op.Request, 5, deadlineMs: 60_000, handlerId: Hang.Value, flags: FrameFlags.Empty));
        peer.Send(new Frame(Op.Request, 5, deadlineMs: 60_000, handlerId: Hang.Value, flags: FrameFlags.Empty));

        Assert.That(SpinWait.SpinUntil(() => peer.Closed && ServerSpans(Hang).Length == 1, RealGrid.Guard), Is.True,
            "the protocol error closes the connection, which ends the call in flight");
        Assert.That(ServerSpans(Hang).Single().GetTagItem("grid.outcome"), Is.EqualTo("disconnected"));
        AssertEveryServerSpanEndedOnce();
    }

    /// <summary>a stops reading b: one answer of Big goes out unread, the next ones wait in b's queue, over its 4 KiB budget.</summary>
    private void HoldBackOutput()
    {
        _grid.Network.StopReading("a", "b", window: 1);
        for (var i = 0; i < 3; i++)
        {
            _grid["a"].Connection("b").Request(Big, []).Subscribe(_ => { }, _ => { });
        }

        _grid.RunMs(10);
        Assert.That(_grid["b"].Connection("a").CurrentSession!.QueuedBytes, Is.GreaterThan(4096), "b's output is over budget");
    }

    private void End(string ending, IDisposable call)
    {
        switch (ending)
        {
            case "cancel":
                call.Dispose();
                _grid.RunMs(10);
                break;
            case "deadline":
                _grid.RunMs(1000);
                break;
            default:
                _grid.Network.Cut("a", "b");
                _grid.RunMs(10);
                break;
        }
    }

    private Activity[] ServerSpans(HandlerId handler) =>
        [.. _spans.Stopped().Where(a => a.Kind == ActivityKind.Server && (string?)a.GetTagItem("rpc.method") == handler.Value.ToString(CultureInfo.InvariantCulture))];

    private string?[] Outcomes(HandlerId handler) =>
        [.. _durations.GetMeasurementSnapshot().Where(m => Method(m.Tags) == handler.Value.ToString(CultureInfo.InvariantCulture)).Select(m => (string?)m.Tags["grid.outcome"])];

    private static string? Method(IReadOnlyDictionary<string, object?> tags) => (string?)tags["rpc.method"];

    /// <summary>No span leaks: every server span started was stopped, once.</summary>
    private void AssertEveryServerSpanEndedOnce()
    {
        var started = _spans.Started().Where(a => a.Kind == ActivityKind.Server).ToArray();
        var stopped = _spans.Stopped().Where(a => a.Kind == ActivityKind.Server).ToArray();
        Assert.That(started, Is.Not.Empty);
        Assert.That(stopped, Is.EquivalentTo(started));
    }
}
