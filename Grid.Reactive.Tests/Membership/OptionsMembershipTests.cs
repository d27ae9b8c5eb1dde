using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Reactive.Testing;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Grid.Reactive.Tests.Membership;

public sealed class OptionsMembershipTests
{
    public sealed class GridHosts
    {
        public List<string> Hosts { get; set; } = [];
    }

    [Test]
    public void EmitsTheConfiguredHosts_ThenTheNewSetOnEachReloadThatChangesIt()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Grid:Hosts:0"] = "10.0.0.1:7000",
            ["Grid:Hosts:1"] = "10.0.0.2:7000",
        }).Build();
        using var services = new ServiceCollection().Configure<GridHosts>(configuration.GetSection("Grid")).BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<GridHosts>>();
        var scheduler = new TestScheduler();
        var seen = scheduler.CreateObserver<string>();

        using var subscription = MembershipSources.FromOptionsMonitor(monitor, o => o.Hosts).Select(h => string.Join(",", h)).Subscribe(seen);
        configuration["Grid:Hosts:2"] = "10.0.0.3:7000";
        configuration.Reload();
        configuration.Reload();                                       // the same set again: not emitted
        configuration["Grid:Hosts:0"] = "10.0.0.4:7000";
        configuration.Reload();

        Assert.That(seen.Messages.Select(m => m.Value.Value), Is.EqualTo(new[]
        {
            "10.0.0.1:7000,10.0.0.2:7000",
            "10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000",
            "10.0.0.2:7000,10.0.0.3:7000,10.0.0.4:7000",
        }));

        subscription.Dispose();
        configuration["Grid:Hosts:3"] = "10.0.0.5:7000";
        configuration.Reload();
        Assert.That(seen.Messages, Has.Count.EqualTo(3), "nothing after disposal");
    }

    [Test]
    public async Task AGridOnConfiguration_ConnectsToAHostAddedByAReload()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Grid:Hosts:0"] = "a",
            ["Grid:Hosts:1"] = "b",
        }).Build();
        using var services = new ServiceCollection().Configure<GridHosts>(configuration.GetSection("Grid")).BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<GridHosts>>();
        await using var grid = new Support.VirtualGrid(["a", "b", "c"]);
        foreach (var name in grid.Names)
        {
            grid.Start(name, grid.OptionsFor(name) with { Remotes = [], Membership = MembershipSources.FromOptionsMonitor(monitor, o => o.Hosts) });
        }

        grid.RunMs(1000);
        Assert.That(grid["a"].Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { "b" }));

        configuration["Grid:Hosts:2"] = "c";
        configuration.Reload();
        grid.RunMs(3000);

        Assert.That(grid["a"].Connections.Select(c => c.RemoteAddress), Is.EqualTo(new[] { "b", "c" }));
        Assert.That(grid.AllConnected(), Is.True);
    }
}
