using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// The configuration of a running grid reloads: a change of secrets (<c>Secret</c>, <c>PreviousSecret</c>) applies to
/// the next handshakes without a restart, and options that are not valid neither throw on the reload nor stop the grid.
/// Over real loopback WebSockets.
/// </summary>
public sealed class ConfigurationReloadTests
{
    private const string Old = "the-old-grid-secret-0123456789";
    private const string New = "the-new-grid-secret-9876543210";

    [Test]
    public async Task ARollingChangeOfSecretsInConfiguration_AppliesToNewHandshakes_WithoutARestart()
    {
        var (dialerAddress, nodeAddress) = FreePort.DialingPair();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Grid:Address"] = nodeAddress,
            ["Grid:Remotes:0"] = nodeAddress,
            ["Grid:Remotes:1"] = dialerAddress,
            ["Grid:SelfHost"] = "true",
            ["Grid:Secret"] = Old,
        }).Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(logging => logging.AddFakeLogging());
        builder.Services.AddGrid(configuration.GetSection("Grid"));
        using var host = builder.Build();
        RegisterBasics(host.Services.GetRequiredService<Manager>());
        await host.StartAsync();
        var log = host.Services.GetFakeLogCollector();

        void Reconfigure(string? secret, string? previous)
        {
            configuration["Grid:Secret"] = secret;
            configuration["Grid:PreviousSecret"] = previous;
            configuration.Reload();
        }

        // A peer that starts now, with only this secret.
        async Task<bool> PeerWithAsync(string secret)
        {
            await using var peer = new Manager(RealGrid.Options(dialerAddress, [nodeAddress, dialerAddress]) with
            {
                Authenticator = new SharedSecretAuthenticator(Encoding.UTF8.GetBytes(secret)),
            });
            RegisterBasics(peer);
            await peer.StartAsync();
            var connection = peer.Connection(nodeAddress);
            var outcome = await connection.Where(s => s == ConnectionState.Connected).Select(_ => true)
                .Merge(connection.Where(s => s == ConnectionState.Disconnected).Skip(1).Select(_ => false))
                .FirstAsync().ToTask().WaitAsync(RealGrid.Guard);
            if (outcome)
            {
                Assert.That(Text(await connection.Request(Echo, Bytes(secret)).ToTask().WaitAsync(RealGrid.Guard)), Is.EqualTo($"{nodeAddress}:{secret}"));
            }

            return outcome;
        }

        Assert.That(await PeerWithAsync(Old), Is.True, "start: the old secret");
        Assert.That(await PeerWithAsync(New), Is.False);

        Reconfigure(New, previous: Old);
        Assert.That(await PeerWithAsync(New), Is.True, "first pass: the new secret is taken");
        Assert.That(await PeerWithAsync(Old), Is.True, "first pass: the old one still is");

        Reconfigure(New, previous: null);
        Assert.That(await PeerWithAsync(New), Is.True, "second pass: the new secret alone");
        Assert.That(await PeerWithAsync(Old), Is.False, "second pass: the old secret is retired");

        Reconfigure("short", previous: null);
        Assert.That(await PeerWithAsync(New), Is.True, "a configuration that is not valid keeps the last valid secret");
        Assert.That(await PeerWithAsync(Old), Is.False);

        var lines = log.GetSnapshot();
        Assert.That(lines.Where(r => r.Id.Id == 1109).Select(r => r.Message), Is.EqualTo(new[]
        {
            "The grid secret of the grid changed in configuration (previous secret kept); new handshakes use it",
            "The grid secret of the grid changed in configuration (previous secret none); new handshakes use it",
        }));
        Assert.That(lines.Where(r => r.Id.Id == 1110).ToList(), Has.Count.EqualTo(1), "the invalid configuration is logged once, not at every handshake");
        Assert.That(string.Join("\n", lines.Select(r => r.Message + r.Exception)), Does.Not.Contain(Old).And.Not.Contain(New), "secrets never reach the log");
        await host.StopAsync();
    }

    [Test]
    public void APreviousSecretTooShort_IsNamedAtStart()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddGrid(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Grid:Address"] = "127.0.0.1:7001",
            ["Grid:Remotes:0"] = "127.0.0.1:7002",
            ["Grid:Secret"] = New,
            ["Grid:PreviousSecret"] = "short",
        }).Build().GetSection("Grid"));
        using var host = builder.Build();

        var error = Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());

        Assert.That(error!.Failures, Is.EqualTo(new[] { "Grid:PreviousSecret is not usable: The shared secret is 5 bytes long; at least 16 are required." }));
    }

    [Test]
    public async Task AReloadWithOptionsThatAreNotValid_DoesNotThrow_AndTheGridKeepsServing()
    {
        string[] all = [FreePort.NextAddress(), FreePort.NextAddress()];
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Grid:Address"] = all[0],
            ["Grid:Remotes:0"] = all[0],
            ["Grid:Remotes:1"] = all[1],
            ["Grid:SelfHost"] = "true",
            ["Grid:Secret"] = Text(VirtualGrid.Secret),
        }).Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddGrid(configuration.GetSection("Grid"));
        using var host = builder.Build();
        var node = host.Services.GetRequiredService<Manager>();
        RegisterBasics(node);
        await host.StartAsync();
        await using var peer = new Manager(RealGrid.Options(all[1], all));
        RegisterBasics(peer);
        await peer.StartAsync();
        await peer.Connection(all[0]).FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);

        // What a half-edited configuration file looks like to the reload: the options monitor rebuilds at once.
        configuration["Grid:Address"] = "";
        configuration["Grid:Path"] = "no-slash";
        configuration["Grid:PingTimeout"] = "-00:00:01";
        Assert.That(configuration.Reload, Throws.Nothing, "a failure here is thrown on the configuration's reload thread");
        Assert.That(() => host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<GridOptions>>().CurrentValue, Throws.Nothing);

        var echo = await peer.Connection(all[0]).Request(Echo, Bytes("still")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(echo), Is.EqualTo($"{all[0]}:still"));
        Assert.That(Text(await node.Connection(all[1]).Request(Echo, Bytes("back")).ToTask().WaitAsync(RealGrid.Guard)), Is.EqualTo($"{all[1]}:back"));
        await host.StopAsync();
    }
}
