using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Grid.Reactive.Tests.Hosting;

/// <summary><c>services.AddHealthChecks().AddGrid()</c>: peers connected, and why the others are not.</summary>
public sealed class GridHealthCheckTests
{
    [Test]
    public async Task TheCheck_IsHealthyWithEveryPeer_DegradedWithACutPeer_AndUnhealthyWithNone()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        string[] all = ["host", "b", "c"];
        using var host = GridHandlerInjectionTests.BuildHost(network, services => services.AddHealthChecks().AddGrid(), "b", "c");
        await host.StartAsync();
        await using var b = await GridHandlerInjectionTests.StartPeerAsync(network, "b", all);
        await using var c = await GridHandlerInjectionTests.StartPeerAsync(network, "c", all);
        var manager = host.Services.GetRequiredService<Manager>();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var healthy = (await health.CheckHealthAsync()).Entries["grid"];

        network.Cut("host", "c");
        await manager.Connection("c").FirstAsync(s => s != ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        var degraded = (await health.CheckHealthAsync()).Entries["grid"];

        network.Cut("host", "b");
        await manager.Connection("b").FirstAsync(s => s != ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        var unhealthy = (await health.CheckHealthAsync()).Entries["grid"];

        Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(healthy.Description, Is.EqualTo("2 of 2 peers connected."));
        Assert.That(degraded.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(degraded.Description, Does.StartWith("1 of 2 peers connected; c "));
        Assert.That(degraded.Data["b"], Is.EqualTo("Connected"));
        Assert.That((string)degraded.Data["c"], Does.Not.StartWith("Connected").And.Not.Contain("no error recorded"),
            "the cut peer is reported with its state and the reason: the connection's last error");
        Assert.That(unhealthy.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(unhealthy.Description, Does.StartWith("0 of 2 peers connected; b "));
        await host.StopAsync();
    }

    [Test]
    public async Task AnUnreachablePeer_IsReportedWithTheReasonItsDialFailed()
    {
        var network = new InMemoryNetwork(DefaultScheduler.Instance);
        // 'ghost' is never started: whichever side dials, the check names it and says why it is not connected.
        using var host = GridHandlerInjectionTests.BuildHost(network,
            services => services.AddHealthChecks().AddGrid(o => o.UnhealthyWhenDisconnected = 2), "peer", "ghost");
        await host.StartAsync();
        await using var peer = await GridHandlerInjectionTests.StartPeerAsync(network, "peer", "host", "peer", "ghost");
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var report = (await health.CheckHealthAsync()).Entries["grid"];

        Assert.That(report.Status, Is.EqualTo(HealthStatus.Degraded), "one of two down is below the unhealthy threshold of 2");
        Assert.That(report.Description, Does.StartWith("1 of 2 peers connected; ghost "));
        Assert.That(report.Data["peer"], Is.EqualTo("Connected"));
        Assert.That(report.Data.ContainsKey("ghost"), Is.True);
        await host.StopAsync();
    }
}
