using System.Net;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text.Encodings.Web;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// A grid endpoint inside an application (<c>MapGrid</c>) behind the application's own security: Kestrel's HTTPS with
/// the grid requiring a client certificate, and ASP.NET Core authorization with a bearer token the dialer sends.
/// </summary>
public sealed class HostedSecurityTests
{
    private const string Scheme = "GridToken";
    private static readonly TestCertificates Cluster = new("Cluster CA");
    private static readonly TestCertificates Other = new("Some other CA");
    private readonly List<IAsyncDisposable> _owned = [];

    [OneTimeTearDown]
    public static void DisposeCertificates()
    {
        Cluster.Dispose();
        Other.Dispose();
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        _owned.Clear();
    }

    /// <summary>
    /// An application serving the grid at <paramref name="address"/>; <paramref name="https"/> null for plain HTTP, and
    /// <paramref name="secure"/> adds what the application puts in front of the grid endpoint.
    /// </summary>
    private async Task<Manager> HostedAsync(string address, string[] all, WebSocketTransport transport, Action<HttpsConnectionAdapterOptions>? https,
        Action<WebApplicationBuilder>? services = null, Action<WebApplication>? pipeline = null, Action<IEndpointConventionBuilder>? secure = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        var port = int.Parse(address.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            if (https is not null)
            {
                listen.UseHttps(https);
            }
        }));
        builder.Services.AddRouting();
        builder.Services.AddWebSockets(_ => { });
        services?.Invoke(builder);
        var app = builder.Build();
        _owned.Add(app);
        app.UseWebSockets();
        app.UseRouting();
        pipeline?.Invoke(app);
        var endpoint = app.MapGrid(transport);
        secure?.Invoke(endpoint);
        await app.StartAsync();

        var hosted = new Manager(RealGrid.Options(address, all, transport));
        RegisterBasics(hosted);
        _owned.Insert(0, hosted);
        await hosted.StartAsync();
        return hosted;
    }

    private async Task<Manager> PeerAsync(string address, string[] all, WebSocketTransportOptions options)
    {
        var peer = new Manager(RealGrid.Options(address, all, new WebSocketTransport(options)));
        RegisterBasics(peer);
        _owned.Insert(0, peer);
        await peer.StartAsync();
        return peer;
    }

    private static async Task<string> EchoAsync(Connection connection, string text)
    {
        await connection.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        return Text(await connection.Request(Echo, Bytes(text)).ToTask().WaitAsync(RealGrid.Guard));
    }

    private static GridTlsOptions PeerTls(X509Certificate2? clientCertificate) => new()
    {
        ServerCertificate = Cluster.Issue(),
        ClientCertificate = clientCertificate,
        TrustedRoots = [Cluster.Authority],
    };

    /// <summary>
    /// A hosted node whose grid requires client certificates of the cluster's CA, while Kestrel lets any client
    /// certificate (or none) through the TLS handshake: the grid endpoint does the check.
    /// </summary>
    private async Task<(string Peer, string Hosted, string[] All, Manager Node)> HostedRequiringClientCertificatesAsync()
    {
        var (peerAddress, hostedAddress) = FreePort.DialingPair();
        string[] all = [hostedAddress, peerAddress];
        var serverCertificate = Cluster.Issue();
        var transport = new WebSocketTransport(new WebSocketTransportOptions
        {
            SelfHost = false,
            Tls = new GridTlsOptions { RequireClientCertificate = true, TrustedRoots = [Cluster.Authority] },
        });
        var node = await HostedAsync(hostedAddress, all, transport, https =>
        {
            https.ServerCertificate = serverCertificate;
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.AllowAnyClientCertificate();
        });
        return (peerAddress, hostedAddress, all, node);
    }

    [TestCase("none")]
    [TestCase("another CA")]
    public async Task AHostedGridRequiringClientCertificates_RefusesADialerWithout_OrWithOneOfAnotherCA(string presented)
    {
        var (peerAddress, hostedAddress, all, _) = await HostedRequiringClientCertificatesAsync();
        var peer = await PeerAsync(peerAddress, all, new WebSocketTransportOptions { Tls = PeerTls(presented == "none" ? null : Other.Issue("client")) });
        var refused = await RealGrid.DialFailsAsync(peer.Connection(hostedAddress));

        Assert.That(refused.Message, Does.Contain("403"), refused.ToString());
    }

    [Test]
    public async Task AHostedGridRequiringClientCertificates_ServesADialerWithOneOfItsCA()
    {
        var (peerAddress, hostedAddress, all, hosted) = await HostedRequiringClientCertificatesAsync();
        var peer = await PeerAsync(peerAddress, all, new WebSocketTransportOptions { Tls = PeerTls(Cluster.Issue("client")) });

        Assert.That(await EchoAsync(peer.Connection(hostedAddress), "mutual"), Is.EqualTo($"{hostedAddress}:mutual"));
        Assert.That(await EchoAsync(hosted.Connection(peerAddress), "back"), Is.EqualTo($"{peerAddress}:back"));
    }

    [Test]
    public async Task AGridEndpointBehindAuthorization_RefusesADialerWithoutAValidBearerToken_AndServesItOnceItSendsOne()
    {
        // The application's own authentication decides; ConfigureDialer runs on every dial, so a fresh token is sent each time.
        var (peerAddress, hostedAddress) = FreePort.DialingPair();
        string[] all = [hostedAddress, peerAddress];
        var transport = new WebSocketTransport(new WebSocketTransportOptions { SelfHost = false });
        var hosted = await HostedAsync(hostedAddress, all, transport, https: null,
            services: app =>
            {
                app.Services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, TokenHandler>(Scheme, _ => { });
                app.Services.AddAuthorization();
            },
            pipeline: app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
            },
            secure: endpoint => endpoint.RequireAuthorization());

        string? token = null;
        var dials = 0;
        var peer = await PeerAsync(peerAddress, all, new WebSocketTransportOptions
        {
            ConfigureDialer = options =>
            {
                Interlocked.Increment(ref dials);
                if (Volatile.Read(ref token) is { } current)
                {
                    options.SetRequestHeader("Authorization", "Bearer " + current);
                }
            },
        });
        var dialer = peer.Connection(hostedAddress);

        var withoutToken = await RealGrid.DialFailsAsync(dialer);
        Assert.That(withoutToken.Message, Does.Contain("401"), withoutToken.ToString());

        Volatile.Write(ref token, "stale");
        var before = Volatile.Read(ref dials);
        await dialer.Where(s => s == ConnectionState.Disconnected).Take(2).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Volatile.Read(ref dials), Is.GreaterThan(before), "every dial asks the application for its headers");
        Assert.That(dialer.LastError!.Message, Does.Contain("401"));

        Volatile.Write(ref token, TokenHandler.Valid);
        Assert.That(await EchoAsync(dialer, "authorized"), Is.EqualTo($"{hostedAddress}:authorized"));
        Assert.That(await EchoAsync(hosted.Connection(peerAddress), "back"), Is.EqualTo($"{peerAddress}:back"));
    }

    /// <summary>Authenticates a request that carries <c>Authorization: Bearer</c> with the one valid token.</summary>
    private sealed class TokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string Valid = "cluster-token-1";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var header = Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            if (header["Bearer ".Length..] != Valid)
            {
                return Task.FromResult(AuthenticateResult.Fail("wrong token"));
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "grid-peer")], Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}
