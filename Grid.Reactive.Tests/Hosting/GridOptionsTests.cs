using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Grid.Reactive.Tests.Hosting;

/// <summary><c>services.AddGrid(configuration.GetSection("Grid"))</c>: binding, and the check at start that names each bad key.</summary>
public sealed class GridOptionsTests
{
    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Grid");

    private static Dictionary<string, string?> Valid() => new()
    {
        ["Grid:Address"] = "127.0.0.1:7001",
        ["Grid:Remotes:0"] = "127.0.0.1:7001",
        ["Grid:Remotes:1"] = "127.0.0.1:7002",
        ["Grid:Secret"] = "a-shared-secret-of-enough-bytes",
    };

    [Test]
    public async Task AddGrid_BindsEveryOptionFromTheSection_AndMapsItToTheManager()
    {
        var values = Valid();
        values["Grid:PingInterval"] = "00:00:01";
        values["Grid:PingTimeout"] = "00:00:04";
        values["Grid:MaxMessageSize"] = "65536";
        values["Grid:DrainTimeout"] = "00:00:09";
        values["Grid:Path"] = "/cluster";
        var services = new ServiceCollection().AddLogging().AddGrid(Section(values));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<GridOptions>>().Value;
        var manager = provider.GetRequiredService<Manager>();

        Assert.That(options.Address, Is.EqualTo("127.0.0.1:7001"));
        Assert.That(options.Remotes, Is.EqualTo(new[] { "127.0.0.1:7001", "127.0.0.1:7002" }));
        Assert.That(options.PingInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(options.MaxMessageSize, Is.EqualTo(65536));
        Assert.That(options.DrainTimeout, Is.EqualTo(TimeSpan.FromSeconds(9)));
        Assert.That(((WebSocketTransport)provider.GetRequiredService<GridTransport>()).Path, Is.EqualTo("/cluster"));
        Assert.That(manager.Address, Is.EqualTo("127.0.0.1:7001"));
        Assert.That(manager.Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { "127.0.0.1:7002" }));
        Assert.That(provider.GetRequiredService<Manager>(), Is.SameAs(manager), "one manager per application");
    }

    [Test]
    public void StartingTheHost_WithBadOptions_FailsNamingEachBadKey()
    {
        var values = new Dictionary<string, string?>
        {
            ["Grid:Remotes:0"] = "127.0.0.1:7001",
            ["Grid:Remotes:1"] = "not an address",
            ["Grid:Secret"] = "short",
            ["Grid:Path"] = "grid",
            ["Grid:PingInterval"] = "00:00:05",
            ["Grid:PingTimeout"] = "00:00:01",
            ["Grid:MaxMessageSize"] = "100",
            ["Grid:DrainTimeout"] = "-00:00:01",
        };
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddGrid(Section(values));
        using var host = builder.Build();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(error!.Failures, Has.Some.StartsWith("Grid:Address is required"));
        Assert.That(error.Failures, Has.Some.StartsWith("Grid:Remotes:1: 'not an address' is not a grid WebSocket address"));
        Assert.That(error.Failures, Has.Some.StartsWith("Grid:Secret is not usable: The shared secret is 5 bytes long"));
        Assert.That(error.Failures, Has.Some.StartsWith("Grid:Path ('grid') must start with '/'"));
        Assert.That(error.Failures, Has.Some.StartsWith("Grid:PingTimeout (00:00:01) must be at least Grid:PingInterval (00:00:05)"));
        Assert.That(error.Failures, Has.Some.StartsWith("Grid:MaxMessageSize (100) must be at least 4096"));
        Assert.That(error.Failures, Has.Some.StartsWith("Grid:DrainTimeout (-00:00:01) must not be negative"));
        Assert.That(error.Failures, Has.Count.EqualTo(7), string.Join("\n", error.Failures));
    }

    [Test]
    public void StartingTheHost_WithoutASecret_NamesTheSecret()
    {
        var values = Valid();
        values.Remove("Grid:Secret");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddGrid(Section(values));
        using var host = builder.Build();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(error!.Failures, Is.EqualTo(new[] { "Grid:Secret is required (or set GridOptions.Authenticator in code): the grid's shared secret." }));
    }

    [Test]
    public async Task AddGridInCode_NamesBadOptionsByProperty()
    {
        var services = new ServiceCollection().AddGrid(o =>
        {
            o.Address = "127.0.0.1:7001";
            o.Remotes = ["127.0.0.1:7001", ""];
            o.Secret = "a-shared-secret-of-enough-bytes";
            o.MaxCallsInFlight = 0;
        });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<GridOptions>>().Value);

        Assert.That(error!.Failures, Is.EquivalentTo(new[]
        {
            "GridOptions.Remotes[1] is empty.",
            "GridOptions.MaxCallsInFlight (0) must be at least 1.",
        }));
    }
}
