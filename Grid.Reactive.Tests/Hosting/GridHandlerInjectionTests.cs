using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Hosting;

/// <summary>Handlers registered through dependency injection: one handler class per id, resolved in a scope per call.</summary>
public sealed class GridHandlerInjectionTests
{
    private static readonly HandlerId WhoServes = new(61);
    private static readonly HandlerId StreamWho = new(63);
    private static readonly TypedRequest<int, int> Double = new(new HandlerId(62), "math");

    [Test]
    public async Task EachCall_ResolvesItsHandlerInANewScope_DisposedWhenTheCallEnds()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        using var host = BuildHost(network, services => services
            .AddScoped<ScopedDependency>()
            .AddGridHandler<ScopedHandler>(WhoServes)
            .AddGridHandler<DoublingHandler, int, int>(Double));
        await host.StartAsync();
        await using var caller = await StartPeerAsync(network);
        var connection = caller.Connection("host");

        var first = Text(await connection.Request(WhoServes, Bytes("1")).ToTask().WaitAsync(RealGrid.Guard));
        var second = Text(await connection.Request(WhoServes, Bytes("2")).ToTask().WaitAsync(RealGrid.Guard));
        var doubled = await Double.Call(connection, 21).ToTask().WaitAsync(RealGrid.Guard);

        Assert.That(first, Is.Not.EqualTo(second), "each call had its own scoped dependency");
        Assert.That(ScopedDependency.Disposed, Does.Contain(first).And.Contain(second), "each call's scope was disposed when it ended");
        Assert.That(doubled, Is.EqualTo(42), "a typed handler class serves its descriptor's id and subroute");
        await host.StopAsync();
    }

    [Test]
    public async Task EachStream_ResolvesItsHandlerInANewScope_DisposedWhenTheStreamEnds()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        using var host = BuildHost(network, services => services
            .AddScoped<ScopedDependency>()
            .AddGridStreamHandler<ScopedStreamHandler>(StreamWho, subroutes: "disk-1"));
        await host.StartAsync();
        await using var caller = await StartPeerAsync(network);
        var connection = caller.Connection("host");

        var first = await connection.NewStream(StreamWho, Bytes("a"), subroute: "disk-1").ToList().ToTask().WaitAsync(RealGrid.Guard);
        var second = await connection.NewStream(StreamWho, Bytes("b"), subroute: "disk-1").ToList().ToTask().WaitAsync(RealGrid.Guard);

        Assert.That(first.Select(Text), Is.EqualTo(new[] { "a", Text(first[1]) }));
        Assert.That(Text(first[1]), Is.Not.EqualTo(Text(second[1])), "each stream had its own scoped dependency");
        Assert.That(ScopedDependency.Disposed, Does.Contain(Text(first[1])).And.Contain(Text(second[1])));
        await host.StopAsync();
    }

    internal static IHost BuildHost(InMemoryNetwork network, Action<IServiceCollection> configure, params string[] remotes)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddGrid(o =>
        {
            o.Address = "host";
            o.Remotes = remotes.Length == 0 ? ["host", "peer"] : ["host", .. remotes];
            o.Transport = network;
            o.Secret = "grid-reactive-tests-shared-secret";
            o.ReconnectInitialDelay = TimeSpan.FromMilliseconds(10);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(100);
        });
        configure(builder.Services);
        return builder.Build();
    }

    internal static async Task<Manager> StartPeerAsync(InMemoryNetwork network, string address = "peer", params string[] remotes)
    {
        var peer = new Manager(new ManagerOptions
        {
            Address = address,
            Remotes = remotes.Length == 0 ? ["host", address] : remotes,
            Transport = network,
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(100) },
        });
        await peer.StartAsync();
        await peer.Connection("host").FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        return peer;
    }

    public sealed class ScopedDependency : IDisposable
    {
        public static readonly System.Collections.Concurrent.ConcurrentBag<string> Disposed = [];

        public string Id { get; } = Guid.NewGuid().ToString("N");

        public void Dispose() => Disposed.Add(Id);
    }

    public sealed class ScopedHandler(ScopedDependency dependency) : IGridHandler
    {
        public ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context) => ValueTask.FromResult(Bytes(dependency.Id));
    }

    public sealed class ScopedStreamHandler(ScopedDependency dependency) : IGridStreamHandler
    {
        public async Task HandleAsync(ServerStream stream, RequestContext context)
        {
            await stream.SendAsync(stream.Payload, context.CancellationToken);
            await stream.SendAsync(Bytes(dependency.Id), context.CancellationToken);
        }
    }

    public sealed class DoublingHandler : IGridRequestHandler<int, int>
    {
        public ValueTask<int> HandleAsync(int request, RequestContext context) => ValueTask.FromResult(request * 2);
    }
}
