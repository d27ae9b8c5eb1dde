using System.Diagnostics;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Diagnostics;

[NonParallelizable]
public sealed class TracingTests
{
    private static readonly ActivitySource Caller = new("Grid.Reactive.Tests.Caller");
    private static readonly HandlerId Traced = new(7);
    private static readonly HandlerId TracedStream = new(8);

    /// <summary>What a handler saw as <see cref="Activity.Current"/>.</summary>
    private sealed record Seen(ActivityTraceId TraceId, ActivitySpanId ParentSpanId, ActivityKind Kind, string OperationName);

    private static void RegisterTraced(Manager node, List<Seen> seen)
    {
        node.Register(Traced, (payload, _) =>
        {
            var current = Activity.Current;
            lock (seen)
            {
                seen.Add(current is null ? new Seen(default, default, ActivityKind.Internal, "<none>")
                    : new Seen(current.TraceId, current.ParentSpanId, current.Kind, current.OperationName));
            }

            return ValueTask.FromResult(payload);
        });
        node.RegisterStream(TracedStream, async (stream, cancellationToken) =>
        {
            var current = Activity.Current;
            lock (seen)
            {
                seen.Add(current is null ? new Seen(default, default, ActivityKind.Internal, "<none>")
                    : new Seen(current.TraceId, current.ParentSpanId, current.Kind, current.OperationName));
            }

            await stream.SendAsync(Bytes("one"), cancellationToken);
        });
    }

    [Test]
    public async Task InMemory_ARequestIsOneTrace_AcrossTwoNodes_AndTheHandlerRunsUnderIt()
    {
        using var recorder = new ActivityRecorder(parentBased: false, GridDiagnostics.ActivitySourceName, Caller.Name);
        var seen = new List<Seen>();
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        RegisterTraced(grid["b"], seen);
        grid.RunMs(10);

        byte[]? answer = null;
        Activity root;
        using (root = Caller.StartActivity("caller")!)
        {
            grid["a"].Connection("b").Request(Traced, Bytes("x")).Subscribe(a => answer = a);
            Assert.That(Activity.Current, Is.SameAs(root), "the call's span is not left current on the caller");
        }

        grid.RunMs(10);

        Assert.That(answer, Is.Not.Null);
        var client = recorder.Stopped().Single(a => a.Source.Name == GridDiagnostics.ActivitySourceName && a.Kind == ActivityKind.Client);
        var server = recorder.Stopped().Single(a => a.Source.Name == GridDiagnostics.ActivitySourceName && a.Kind == ActivityKind.Server);
        Assert.That(client.TraceId, Is.EqualTo(root.TraceId));
        Assert.That(client.ParentSpanId, Is.EqualTo(root.SpanId));
        Assert.That(server.TraceId, Is.EqualTo(root.TraceId));
        Assert.That(server.ParentSpanId, Is.EqualTo(client.SpanId));
        Assert.That(server.HasRemoteParent, Is.True);
        Assert.That(client.OperationName, Is.EqualTo("grid.reactive/7"));
        Assert.That(client.GetTagItem("rpc.system"), Is.EqualTo("grid.reactive"));
        Assert.That(client.GetTagItem("rpc.method"), Is.EqualTo("7"));
        Assert.That(client.GetTagItem("server.address"), Is.EqualTo("b"));
        Assert.That(client.GetTagItem("grid.outcome"), Is.EqualTo("ok"));
        Assert.That(server.GetTagItem("client.address"), Is.EqualTo("a"));

        Assert.That(seen, Is.EqualTo(new[] { new Seen(root.TraceId, client.SpanId, ActivityKind.Server, "grid.reactive/7") }),
            "Activity.Current inside the handler is the server span, in the caller's trace");
    }

    [Test]
    public async Task InMemory_AStreamIsOneTrace_AndAFailedCallIsAnErrorSpan()
    {
        using var recorder = new ActivityRecorder(parentBased: false, GridDiagnostics.ActivitySourceName, Caller.Name);
        var seen = new List<Seen>();
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        RegisterTraced(grid["b"], seen);
        RegisterBasics(grid["b"]);
        grid.RunMs(10);

        Activity root;
        var messages = new List<byte[]>();
        using (root = Caller.StartActivity("caller")!)
        {
            grid["a"].Connection("b").NewStream(TracedStream).Subscribe(messages.Add, _ => { });
            grid["a"].Connection("b").Request(Fail, Bytes("x")).Subscribe(_ => { }, _ => { });
        }

        grid.RunMs(20);

        Assert.That(messages, Has.Count.EqualTo(1));
        Assert.That(seen.Single().TraceId, Is.EqualTo(root.TraceId));
        var spans = recorder.Stopped().Where(a => a.Source.Name == GridDiagnostics.ActivitySourceName).ToList();
        Assert.That(spans.Select(a => a.TraceId).Distinct(), Is.EqualTo(new[] { root.TraceId }));
        var streamClient = spans.Single(a => a.Kind == ActivityKind.Client && (string?)a.GetTagItem("grid.call.kind") == "stream");
        Assert.That(streamClient.GetTagItem("grid.outcome"), Is.EqualTo("ok"));
        var failed = spans.Single(a => a.Kind == ActivityKind.Client && (string?)a.GetTagItem("rpc.method") == "2");
        Assert.That(failed.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(failed.GetTagItem("error.type"), Is.EqualTo(typeof(RemoteException).FullName));
        var failedServer = spans.Single(a => a.Kind == ActivityKind.Server && (string?)a.GetTagItem("rpc.method") == "2");
        Assert.That(failedServer.ParentSpanId, Is.EqualTo(failed.SpanId));
        Assert.That(failedServer.Status, Is.EqualTo(ActivityStatusCode.Error));
    }

    [Test]
    public async Task WithoutAListener_TheAmbientTraceStillTravels_AndWithoutATraceNothingIsSent()
    {
        var seen = new List<Seen>();
        await using var grid = new VirtualGrid(["a", "b"]).StartAll();
        RegisterTraced(grid["b"], seen);
        grid.RunMs(10);
        var frames = new List<Frame>();
        using var tracing = grid["a"].Connection("b").FramesOut.Subscribe(frames.Add);

        grid["a"].Connection("b").Request(Traced, Bytes("untraced")).Subscribe(_ => { });
        using (var ambient = new Activity("ambient").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            grid["a"].Connection("b").Request(Traced, Bytes("traced")).Subscribe(_ => { });
        }

        grid.RunMs(10);

        var requests = frames.Where(f => f.Op == Op.Request).ToList();
        Assert.That(requests.Select(f => !f.TraceContext.IsEmpty), Is.EqualTo(new[] { false, true }));
        Assert.That(requests[1].TraceContext.Length, Is.EqualTo(25));
        Assert.That(seen.Select(s => s.OperationName), Is.EqualTo(new[] { "<none>", "<none>" }), "no listener on the server: no span");
    }

    [Test]
    public async Task APeerThatDidNotAskForTraceContext_GetsFramesWithout()
    {
        using var recorder = new ActivityRecorder(parentBased: false, GridDiagnostics.ActivitySourceName, Caller.Name);
        // A node from before trace contexts: its Connect carries seq 0.
        await using var pair = await NodeWithRawPeer.StartAsync();
        var oldPeer = pair.Peer;

        using (Caller.StartActivity("caller"))
        {
            pair.ToPeer.Request(Echo, Bytes("x")).Subscribe(_ => { }, _ => { });
        }

        Assert.That(SpinWait.SpinUntil(() => oldPeer.Snapshot().Any(f => f.Op == Op.Request), RealGrid.Guard), Is.True);
        var frames = oldPeer.Snapshot();
        Assert.That(frames.First(f => f.Op == Op.ConnectResponse).Seq, Is.EqualTo(1u), "the node tells what it reads");
        Assert.That(frames.Single(f => f.Op == Op.Request).Flags & FrameFlags.TraceContext, Is.EqualTo(FrameFlags.None));
        Assert.That(recorder.Stopped().Count(a => a.Kind == ActivityKind.Client), Is.EqualTo(0), "the call is still open");
    }

    [Test]
    public async Task WebSockets_ARequestIsOneTrace_AndTheLinksRequestIsNotRecorded()
    {
        using var recorder = new ActivityRecorder(parentBased: true, GridDiagnostics.ActivitySourceName, Caller.Name, "System.Net.Http");
        // Sampling every server request, whatever its parent: the link's request is made, and must end up not recorded.
        using var hosting = new ActivityRecorder(parentBased: false, "Microsoft.AspNetCore");
        var seen = new List<Seen>();
        var grid = await RealGrid.StartAsync(2, node => RegisterTraced(node, seen));
        Activity root;
        try
        {
            using (root = Caller.StartActivity("caller")!)
            {
                await grid.From(0, 1).Request(Traced, Bytes("x")).ToTask().WaitAsync(RealGrid.Guard);
            }
        }
        finally
        {
            await grid.DisposeAsync();
        }

        var spans = recorder.Stopped();
        var client = spans.Single(a => a.Source.Name == GridDiagnostics.ActivitySourceName && a.Kind == ActivityKind.Client);
        var server = spans.Single(a => a.Source.Name == GridDiagnostics.ActivitySourceName && a.Kind == ActivityKind.Server);
        Assert.That(client.TraceId, Is.EqualTo(root.TraceId));
        Assert.That(server.TraceId, Is.EqualTo(root.TraceId));
        Assert.That(server.ParentSpanId, Is.EqualTo(client.SpanId));
        Assert.That(seen.Single().TraceId, Is.EqualTo(root.TraceId));

        var linkRequests = hosting.Started().Where(a => a.OperationName == "Microsoft.AspNetCore.Hosting.HttpRequestIn").ToList();
        Assert.That(linkRequests, Is.Not.Empty, "the link's request was seen");
        Assert.That(linkRequests.Where(a => a.Recorded), Is.Empty, "a link's request is no span lasting the link's life");
        Assert.That(spans.Where(a => a.Source.Name == "System.Net.Http" && a.Recorded), Is.Empty, "dials are in no trace");
    }

    [Test]
    public async Task WebSockets_RedialsToAPeerThatIsDown_AreNoFailedHttpSpans()
    {
        using var recorder = new ActivityRecorder(parentBased: true, "System.Net.Http", Caller.Name);
        var (dialer, acceptor) = (FreePort.NextAddress(), FreePort.NextAddress());
        if (!Grid.Reactive.Connections.DialDirection.ShouldDial(dialer, acceptor))
        {
            (dialer, acceptor) = (acceptor, dialer);
        }

        await using var node = new Manager(new ManagerOptions
        {
            Address = dialer,
            Remotes = [dialer, acceptor],
            Transport = new WebSocketTransport(),
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(20) },
        });
        var failures = node.Connection(acceptor).Where(s => s == ConnectionState.Disconnected).Take(3).ToTask();
        using (Caller.StartActivity("the application's request that started the node"))
        {
            await node.StartAsync();
        }

        await failures.WaitAsync(RealGrid.Guard);

        Assert.That(recorder.Stopped().Where(a => a.Source.Name == "System.Net.Http" && a.Recorded), Is.Empty);
    }
}
