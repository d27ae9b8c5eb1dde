using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.WebSockets;

/// <summary>A node whose grid endpoint lives in the application's own ASP.NET Core pipeline, beside its other endpoints.</summary>
public sealed class HostedGridTests
{
    private static ManagerOptions Options(string address, string[] all, GridTransport transport) => new()
    {
        Address = address,
        Remotes = all,
        Transport = transport,
        Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
        Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
    };

    [Test]
    public async Task AManagerHostedByTheApplication_ConnectsAndServes_BesideTheAppsOwnEndpoints()
    {
        var hostedAddress = FreePort.NextAddress();
        var peerAddress = FreePort.NextAddress();
        string[] all = [hostedAddress, peerAddress];
        var transport = new WebSocketTransport(new WebSocketTransportOptions { SelfHost = false });

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls($"http://{hostedAddress}");
        builder.Services.AddRouting();
        builder.Services.AddWebSockets(_ => { });
        await using var app = builder.Build();
        app.UseWebSockets();
        app.UseRouting();
        app.MapGet("/health", () => "ok");
        app.MapGrid(transport);
        await app.StartAsync();

        await using var hosted = new Manager(Options(hostedAddress, all, transport));
        await using var peer = new Manager(Options(peerAddress, all, new WebSocketTransport()));
        RegisterBasics(hosted);
        RegisterBasics(peer);
        await hosted.StartAsync();
        await peer.StartAsync();
        await Task.WhenAll(new[] { hosted.Connection(peerAddress), peer.Connection(hostedAddress) }
            .Select(c => c.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard)));

        var fromPeer = await peer.Connection(hostedAddress).Request(Echo, Bytes("in")).ToTask().WaitAsync(RealGrid.Guard);
        var fromHosted = await hosted.Connection(peerAddress).Request(Echo, Bytes("out")).ToTask().WaitAsync(RealGrid.Guard);
        using var http = new HttpClient();
        var health = await http.GetStringAsync(new Uri($"http://{hostedAddress}/health"));

        Assert.That(Text(fromPeer), Is.EqualTo($"{hostedAddress}:in"));
        Assert.That(Text(fromHosted), Is.EqualTo($"{peerAddress}:out"));
        Assert.That(health, Is.EqualTo("ok"));
        await app.StopAsync();
    }

    [Test]
    public async Task AHostedTransport_AnswersServiceUnavailableUntilItsManagerStarts_AndServesOneManager()
    {
        var transport = new WebSocketTransport(new WebSocketTransportOptions { SelfHost = false });
        var context = new DefaultHttpContext();

        await transport.AcceptAsync(context);
        Assert.That(context.Response.StatusCode, Is.EqualTo(StatusCodes.Status503ServiceUnavailable));

        var a = FreePort.NextAddress();
        var b = FreePort.NextAddress();
        await using var first = new Manager(Options(a, [a, b], transport));
        await using var second = new Manager(Options(b, [a, b], transport));
        await first.StartAsync();
        Assert.That(async () => await second.StartAsync(), Throws.InvalidOperationException.With.Message.Contains("serves one manager"));
    }
}
