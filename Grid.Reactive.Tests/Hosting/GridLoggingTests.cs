using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Grid.Reactive.Tests.Hosting;

/// <summary>
/// A grid added with <c>AddGrid</c> logs through the application's <see cref="ILoggerFactory"/> with one category per
/// component, as <see cref="ManagerOptions.LoggerFactory"/> does; a named grid's lines also carry its name as a scope.
/// </summary>
public sealed class GridLoggingTests
{
    private static readonly string[] Components =
        ["Grid.Reactive.Manager", "Grid.Reactive.Connection", "Grid.Reactive.Session", "Grid.Reactive.Transport", "Grid.Reactive.UserCode"];

    private static IHost BuildHost(InMemoryNetwork network, Action<IServiceCollection> addGrid)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        addGrid(builder.Services);
        return builder.Build();
    }

    private static void Configure(GridOptions o, InMemoryNetwork network)
    {
        o.Address = "host";
        o.Remotes = ["host", "peer"];
        o.Transport = network;
        o.Secret = "grid-reactive-tests-shared-secret";
        o.ReconnectInitialDelay = TimeSpan.FromMilliseconds(10);
        o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(100);
    }

    /// <summary>Runs the host with a peer that connects and then leaves, and returns the grid's log lines.</summary>
    private static async Task<IReadOnlyList<FakeLogRecord>> GridLinesAsync(IHost host, Manager hostManager, InMemoryNetwork network)
    {
        await host.StartAsync();
        var peer = await GridHandlerInjectionTests.StartPeerAsync(network);
        await peer.DisposeAsync();
        await hostManager.Connection("peer").FirstAsync(s => s != ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        await host.StopAsync();
        return [.. host.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Category is not null && r.Category.StartsWith("Grid.Reactive", StringComparison.Ordinal))];
    }

    [Test]
    public async Task TheGridLogsUnderOneCategoryPerComponent()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        using var host = BuildHost(network, services => services.AddGrid(o => Configure(o, network)));

        var lines = await GridLinesAsync(host, host.Services.GetRequiredService<Manager>(), network);

        Assert.That(lines, Is.Not.Empty);
        Assert.That(lines.Select(l => l.Category).Distinct(), Is.SubsetOf(Components), "no line under the bare 'Grid.Reactive' category");
        Assert.That(lines.All(l => l.Id.Id != 0), Is.True, "every line has its stable event id");
    }

    [Test]
    public async Task ANamedGridsLines_CarryItsNameAsAScope()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        using var host = BuildHost(network, services => services.AddGrid("locks", o => Configure(o, network)));

        var lines = await GridLinesAsync(host, host.Services.GetRequiredKeyedService<Manager>("locks"), network);

        Assert.That(lines, Is.Not.Empty);
        Assert.That(lines.Select(l => l.Category).Distinct(), Is.SubsetOf(Components));
        foreach (var line in lines)
        {
            var scopes = line.Scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s);
            Assert.That(scopes, Does.Contain(new KeyValuePair<string, object?>("Grid", "locks")), line.Message);
        }
    }
}
