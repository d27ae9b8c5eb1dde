using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Hosting;

/// <summary>
/// DI handler classes see their call's <see cref="RequestContext"/>, and one class registered for several subroutes
/// serves each of them (three disks of a node, one class per call).
/// </summary>
public sealed class GridHandlerContextTests
{
    private static readonly HandlerId Watched = new(70);
    private static readonly HandlerId WatchedStream = new(71);
    private static readonly TypedRequest<string, string> DiskInfo = new(new HandlerId(72));
    private static readonly TypedStream<string, string, string> Walk = new(new HandlerId(73), new StreamHandlerOptions { InCapacity = 0 });
    private static readonly string[] Disks = ["disk-1", "disk-2", "disk-3"];

    [Test]
    public async Task AHandlerClass_SeesTheCaller_TheSubroute_TheDeadline_AndTheCancellation()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        var probe = new ContextProbe();
        using var host = GridHandlerInjectionTests.BuildHost(network, services => services
            .AddSingleton(probe)
            .AddGridHandler<WatchingHandler>(Watched, "disk-2"));
        await host.StartAsync();
        await using var caller = await GridHandlerInjectionTests.StartPeerAsync(network);

        var call = caller.Connection("host").Request(Watched, Bytes("x"), TimeSpan.FromMinutes(5), "disk-2").Subscribe(_ => { }, _ => { });
        var context = await probe.Seen.Task.WaitAsync(RealGrid.Guard);
        var remaining = context.RemainingTime;
        call.Dispose();
        await probe.Cancelled.Task.WaitAsync(RealGrid.Guard);

        Assert.That(context.RemoteAddress, Is.EqualTo("peer"), "the caller's address");
        Assert.That(context.Handler, Is.EqualTo(Watched));
        Assert.That(context.Subroute, Is.EqualTo("disk-2"));
        Assert.That(context.Deadline, Is.Not.Null, "the caller's deadline");
        Assert.That(remaining, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(context.CancellationToken.IsCancellationRequested, Is.True, "the caller giving up fired the context's token");
        await host.StopAsync();
    }

    [Test]
    public async Task AStreamHandlerClass_SeesTheCaller_TheSubroute_AndTheCancellation()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        var probe = new ContextProbe();
        using var host = GridHandlerInjectionTests.BuildHost(network, services => services
            .AddSingleton(probe)
            .AddGridStreamHandler<WatchingStreamHandler>(WatchedStream, subroutes: "disk-3"));
        await host.StartAsync();
        await using var caller = await GridHandlerInjectionTests.StartPeerAsync(network);

        var stream = caller.Connection("host").NewStream(WatchedStream, Bytes("x"), subroute: "disk-3").Subscribe(_ => { }, _ => { });
        var context = await probe.Seen.Task.WaitAsync(RealGrid.Guard);
        stream.Dispose();
        await probe.Cancelled.Task.WaitAsync(RealGrid.Guard);

        Assert.That(context.RemoteAddress, Is.EqualTo("peer"));
        Assert.That(context.Handler, Is.EqualTo(WatchedStream));
        Assert.That(context.Subroute, Is.EqualTo("disk-3"));
        Assert.That(context.CancellationToken.IsCancellationRequested, Is.True, "the caller going away fired the context's token");
        await host.StopAsync();
    }

    [Test]
    public async Task OneClass_RegisteredForThreeSubroutes_AnswersEachWithItsOwnSubroute()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        using var host = GridHandlerInjectionTests.BuildHost(network, services => services
            .AddGridHandler<DiskInfoHandler, string, string>(DiskInfo, Disks)
            .AddGridStreamHandler<WalkHandler, string, string, string>(Walk, Disks));
        await host.StartAsync();
        await using var caller = await GridHandlerInjectionTests.StartPeerAsync(network);
        var connection = caller.Connection("host");

        var answers = new List<string>();
        var walks = new List<string>();
        foreach (var disk in Disks)
        {
            answers.Add(await DiskInfo.CallAsync(connection, "info", subroute: disk).WaitAsync(RealGrid.Guard));
            await foreach (var file in Walk.Open(connection, "bucket", subroute: disk).ReadAllAsync())
            {
                walks.Add(file);
            }
        }

        var unknown = Assert.ThrowsAsync<HandlerNotFoundException>(() => DiskInfo.CallAsync(connection, "info", subroute: "disk-4").WaitAsync(RealGrid.Guard));

        Assert.That(answers, Is.EqualTo(new[] { "info from disk-1 for peer", "info from disk-2 for peer", "info from disk-3 for peer" }));
        Assert.That(walks, Is.EqualTo(new[] { "disk-1/bucket/a", "disk-1/bucket/b", "disk-2/bucket/a", "disk-2/bucket/b", "disk-3/bucket/a", "disk-3/bucket/b" }));
        Assert.That(unknown, Is.Not.Null, "a subroute the class was not registered for has no handler");
        await host.StopAsync();
    }

    [Test]
    public void AddingTheSameSubrouteTwice_OrANullSubroute_IsRefused()
    {
        var services = new ServiceCollection();

        var twice = Assert.Throws<ArgumentException>(() => services.AddGridHandler<DiskInfoHandler, string, string>(DiskInfo, "disk-1", "disk-1"));
        var none = Assert.Throws<ArgumentException>(() => services.AddGridHandler<WatchingHandler>(Watched, "disk-1", null!));

        Assert.That(twice!.Message, Does.StartWith("The subroute 'disk-1' is listed twice."));
        Assert.That(none!.Message, Does.StartWith("subroutes[1] is null"));
    }

    public sealed class ContextProbe
    {
        public TaskCompletionSource<RequestContext> Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Records the context, then waits for its token to fire.</summary>
        public async Task WatchAsync(RequestContext context)
        {
            var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (context.CancellationToken.Register(() => cancelled.TrySetResult()))
            {
                Seen.TrySetResult(context);
                await cancelled.Task;
            }

            Cancelled.TrySetResult();
        }
    }

    public sealed class WatchingHandler(ContextProbe probe) : IGridHandler
    {
        public async ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context)
        {
            await probe.WatchAsync(context);
            return payload;
        }
    }

    public sealed class WatchingStreamHandler(ContextProbe probe) : IGridStreamHandler
    {
        public Task HandleAsync(ServerStream stream, RequestContext context) => probe.WatchAsync(context);
    }

    public sealed class DiskInfoHandler : IGridRequestHandler<string, string>
    {
        public ValueTask<string> HandleAsync(string request, RequestContext context) =>
            ValueTask.FromResult($"{request} from {context.Subroute} for {context.RemoteAddress}");
    }

    public sealed class WalkHandler : IGridStreamHandler<string, string, string>
    {
        public async Task HandleAsync(TypedServerStream<string, string, string> stream, RequestContext context)
        {
            await stream.SendAsync($"{context.Subroute}/{stream.Payload}/a", context.CancellationToken);
            await stream.SendAsync($"{context.Subroute}/{stream.Payload}/b", context.CancellationToken);
        }
    }
}
