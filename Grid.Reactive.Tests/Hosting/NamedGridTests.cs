using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Hosting;

/// <summary>
/// Named grids: <c>services.AddGrid("locks", ...)</c> beside other grids in one application, each with its own
/// options, keyed <see cref="Manager"/>, handlers, endpoint, lifetime and health check.
/// </summary>
public sealed class NamedGridTests
{
    private static readonly HandlerId Which = new(80);
    private const string Secret = "grid-reactive-tests-shared-secret";

    [Test]
    public async Task TwoNamedGrids_OnTheirOwnPathsAndPorts_BothServeCalls_AndStartAndStopWithTheHost()
    {
        var dataAddress = FreePort.NextAddress();
        var locksAddress = FreePort.NextAddress();
        var dataPeerAddress = FreePort.NextAddress();
        var locksPeerAddress = FreePort.NextAddress();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls($"http://{dataAddress}");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Data:Address"] = dataAddress,
            ["Data:Remotes:0"] = dataAddress,
            ["Data:Remotes:1"] = dataPeerAddress,
            ["Data:Path"] = "/data/v1",
            ["Data:Secret"] = Secret,
            ["Locks:Address"] = locksAddress,
            ["Locks:Remotes:0"] = locksAddress,
            ["Locks:Remotes:1"] = locksPeerAddress,
            ["Locks:Path"] = "/locks/v1",
            ["Locks:SelfHost"] = "true",
            ["Locks:Secret"] = Secret,
        });
        // The same handler id on both grids: each grid has its own handlers.
        builder.Services.AddGrid("data", builder.Configuration.GetSection("Data")).AddHandler<DataHandler>(Which);
        builder.Services.AddGrid("locks", builder.Configuration.GetSection("Locks")).AddHandler<LocksHandler>(Which);
        builder.Services.AddSingleton<LockClient>();
        var app = builder.Build();
        app.MapGrid("data");
        await app.StartAsync();

        await using var dataPeer = StartPeer(dataPeerAddress, dataAddress, "/data/v1");
        await using var locksPeer = StartPeer(locksPeerAddress, locksAddress, "/locks/v1");
        await dataPeer.StartAsync();
        await locksPeer.StartAsync();
        var toData = dataPeer.Connection(dataAddress);
        var toLocks = locksPeer.Connection(locksAddress);
        await toData.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        await toLocks.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);

        var fromData = Text(await toData.RequestAsync(Which, Bytes("?")).WaitAsync(RealGrid.Guard));
        var fromLocks = Text(await toLocks.RequestAsync(Which, Bytes("?")).WaitAsync(RealGrid.Guard));
        var dataManager = app.Services.GetRequiredKeyedService<Manager>("data");
        var locksManager = app.Services.GetRequiredKeyedService<Manager>("locks");
        var client = app.Services.GetRequiredService<LockClient>();
        var unnamed = app.Services.GetService<Manager>();

        await app.StopAsync().WaitAsync(RealGrid.Guard);
        await toData.FirstAsync(s => s != ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        await toLocks.FirstAsync(s => s != ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        await app.DisposeAsync();

        Assert.That(fromData, Is.EqualTo("data"));
        Assert.That(fromLocks, Is.EqualTo("locks"));
        Assert.That(dataManager.Address, Is.EqualTo(dataAddress));
        Assert.That(locksManager.Address, Is.EqualTo(locksAddress));
        Assert.That(client.Locks, Is.SameAs(locksManager), "[FromKeyedServices(\"locks\")] resolves the named grid's manager");
        Assert.That(unnamed, Is.Null, "no unnamed grid was added");
    }

    [Test]
    public void StartingTheHost_WithBadOptionsOfNamedGrids_FailsNamingTheGridAndEachKey()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Locks:Remotes:0"] = "127.0.0.1:7001",
            ["Locks:Secret"] = Secret,
            ["Locks:Path"] = "locks",
        });
        builder.Services.AddGrid(o =>
        {
            o.Address = "host";
            o.Remotes = ["host"];
            o.Transport = new InMemoryNetwork(DefaultScheduler.Instance);
            o.Secret = Secret;
        });
        builder.Services.AddGrid("locks", builder.Configuration.GetSection("Locks"));
        builder.Services.AddGrid("data", o =>
        {
            o.Address = "data";
            o.Transport = new InMemoryNetwork(DefaultScheduler.Instance);
            o.Secret = Secret;
            o.MaxMessageSize = 100;
        });
        using var host = builder.Build();

        var error = Assert.CatchAsync(() => host.StartAsync());
        var failures = (error is AggregateException all ? all.InnerExceptions : [error!])
            .Cast<OptionsValidationException>().SelectMany(e => e.Failures).ToList();

        Assert.That(failures, Has.Some.StartsWith("Grid 'locks': Locks:Address is required"));
        Assert.That(failures, Has.Some.StartsWith("Grid 'locks': Locks:Path ('locks') must start with '/'"));
        Assert.That(failures, Has.Some.StartsWith("Grid 'data': GridOptions.MaxMessageSize (100) must be at least 4096"));
        Assert.That(failures, Has.Count.EqualTo(3), "the unnamed grid is valid, and each grid is checked by its own rules only:\n" + string.Join("\n", failures));
    }

    [Test]
    public async Task TheHealthCheckOfANamedGrid_NamesTheGrid_AndReportsItsOwnPeers()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        using var host = GridHandlerInjectionTests.BuildHost(network, services =>
        {
            services.AddGrid("locks", o =>
            {
                o.Address = "host-locks";
                o.Remotes = ["host-locks", "peer-locks", "ghost-locks"];
                o.Transport = network;
                o.Secret = Secret;
                o.ReconnectInitialDelay = TimeSpan.FromMilliseconds(10);
                o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(100);
            });
            services.AddHealthChecks().AddGrid().AddGrid("locks");
        });
        await host.StartAsync();
        await using var peer = await GridHandlerInjectionTests.StartPeerAsync(network);
        await using var lockPeer = new Manager(new ManagerOptions
        {
            Address = "peer-locks",
            Remotes = ["host-locks", "peer-locks", "ghost-locks"],
            Transport = network,
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
        });
        await lockPeer.StartAsync();
        await host.Services.GetRequiredKeyedService<Manager>("locks").Connection("peer-locks")
            .FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.That(report.Entries["grid"].Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(report.Entries["grid"].Description, Is.EqualTo("1 of 1 peers connected."));
        Assert.That(report.Entries["grid-locks"].Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(report.Entries["grid-locks"].Description, Does.StartWith("Grid 'locks': 1 of 2 peers connected; ghost-locks "));
        Assert.That(report.Entries["grid-locks"].Data["peer-locks"], Is.EqualTo("Connected"));
        await host.StopAsync();
    }

    [Test]
    public void AHandlerOfTheUnnamedGrid_WhenOnlyNamedGridsAreAdded_FailsTheStart_AndMapGridOfAnUnknownNameThrows()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Services.AddGrid("locks", o =>
        {
            o.Address = "host";
            o.Remotes = ["host"];
            o.Transport = new InMemoryNetwork(DefaultScheduler.Instance);
            o.Secret = Secret;
        });
        // Meant for the lock grid, but added to the unnamed one (which this application does not have).
        builder.Services.AddGridHandler<LocksHandler>(Which);
        var app = builder.Build();

        var unknown = Assert.Throws<InvalidOperationException>(() => app.MapGrid("lcks"));
        var unnamed = Assert.Throws<InvalidOperationException>(() => app.MapGrid());
        var error = Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.That(unknown!.Message, Does.StartWith("MapGrid(\"lcks\") needs the grid 'lcks' in the application's services"));
        Assert.That(unnamed!.Message, Does.StartWith("MapGrid() needs the grid in the application's services"));
        Assert.That(error!.Message, Is.EqualTo("LocksHandler (handler 80) is added to the unnamed grid, which was not added: call services.AddGrid(...)."));
    }

    [Test]
    public void TwoGridsMappedOnOnePath_AreRefusedWhenMapped_NamingThePath()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Services.AddGrid(o =>
        {
            o.Address = "127.0.0.1:5000";
            o.Remotes = ["127.0.0.1:5000"];
            o.Secret = Secret;
        });
        builder.Services.AddGrid("locks", o =>
        {
            o.Address = "127.0.0.1:5001";
            o.Remotes = ["127.0.0.1:5001"];
            o.Secret = Secret; // and the default Path, /grid/v1, as the unnamed grid's
        });
        var app = builder.Build();

        app.MapGrid();
        var clash = Assert.Throws<InvalidOperationException>(() => app.MapGrid("locks"));

        Assert.That(clash!.Message, Is.EqualTo("MapGrid(\"locks\"): the path '/grid/v1' is already mapped for the grid; " +
            "give each grid mapped into one application its own GridOptions.Path."));
    }

    private static Manager StartPeer(string address, string remote, string path) => new(new ManagerOptions
    {
        Address = address,
        Remotes = [address, remote],
        Transport = new WebSocketTransport(new WebSocketTransportOptions { Path = path }),
        Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
        Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
    });

    public sealed class DataHandler : IGridHandler
    {
        public ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context) => ValueTask.FromResult(Bytes("data"));
    }

    public sealed class LocksHandler : IGridHandler
    {
        public ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context) => ValueTask.FromResult(Bytes("locks"));
    }

    public sealed class LockClient([FromKeyedServices("locks")] Manager locks)
    {
        public Manager Locks { get; } = locks;
    }
}
