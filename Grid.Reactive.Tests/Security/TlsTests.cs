using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>TLS and mutual TLS over real loopback WebSockets, with a private CA made for the test.</summary>
public sealed class TlsTests
{
    private static readonly TestCertificates Cluster = new("Cluster CA");
    private static readonly TestCertificates Other = new("Some other CA");
    private readonly List<Manager> _nodes = [];
    private readonly Dictionary<Manager, CapturingLogger> _logs = [];

    [OneTimeTearDown]
    public static void DisposeCertificates()
    {
        Cluster.Dispose();
        Other.Dispose();
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
        _logs.Clear();
    }

    private async Task<Manager[]> StartAsync(Func<int, GridTlsOptions?> tls, string[]? addresses = null)
    {
        addresses ??= [FreePort.NextAddress(), FreePort.NextAddress()];
        var logs = addresses.Select(_ => new CapturingLogger()).ToArray();
        var nodes = addresses.Select((a, i) => new Manager(
            RealGrid.Options(a, addresses, new WebSocketTransport(new WebSocketTransportOptions { Tls = tls(i) })) with { Logger = logs[i] })).ToArray();
        for (var i = 0; i < nodes.Length; i++)
        {
            _logs[nodes[i]] = logs[i];
        }

        foreach (var node in nodes)
        {
            RegisterBasics(node);
            _nodes.Add(node);
            await node.StartAsync();
        }

        return nodes;
    }

    private static GridTlsOptions Node(TestCertificates ca, bool mutual = false, bool presentClientCertificate = true, bool expired = false) => new()
    {
        ServerCertificate = ca.Issue(expired: expired),
        ClientCertificate = presentClientCertificate ? ca.Issue("client") : null,
        RequireClientCertificate = mutual,
        TrustedRoots = [Cluster.Authority],
    };

    private static Connection Dialer(Manager[] nodes) => nodes.Select(n => n.Connections.Single()).Single(c => c.IsDialer);

    /// <summary>The accepting node logged the refused TLS handshake, once, as a warning from the grid's logger.</summary>
    private async Task AcceptorLoggedTheRefusalAsync(Manager[] nodes)
    {
        var acceptor = nodes.Single(n => !n.Connections.Single().IsDialer);
        await _logs[acceptor].WaitForAsync("TLS handshake refused on wss://" + acceptor.Address).WaitAsync(RealGrid.Guard);
        Assert.That(_logs[acceptor].Lines.Where(l => l.Text.StartsWith("TLS handshake refused", StringComparison.Ordinal)).Select(l => l.Level),
            Has.All.EqualTo(Microsoft.Extensions.Logging.LogLevel.Warning));
    }

    /// <summary>Addresses where node 1 dials node 0.</summary>
    private static string[] Node1DialsNode0()
    {
        var (dialer, acceptor) = FreePort.DialingPair();
        return [acceptor, dialer];
    }

    [Test]
    public async Task AWssGrid_WithAPrivateCA_Connects_AndServesCalls()
    {
        var nodes = await StartAsync(_ => Node(Cluster));
        await Task.WhenAll(nodes.Select(n => n.Connections.Single().FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard)));

        var echo = await nodes[0].Connections.Single().Request(Echo, Bytes("over tls")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(echo), Does.EndWith(":over tls"));
        Assert.That(_logs.Values.SelectMany(l => l.Lines).Select(l => l.Text), Has.None.Contains("TLS handshake refused"), "a healthy grid logs no refusal");
    }

    [Test]
    public async Task MutualTls_BothPresentingCertificatesOfTheCA_Connects()
    {
        var nodes = await StartAsync(_ => Node(Cluster, mutual: true));
        await Task.WhenAll(nodes.Select(n => n.Connections.Single().FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard)));
        Assert.That(Text(await nodes[1].Connections.Single().Request(Echo, Bytes("m")).ToTask().WaitAsync(RealGrid.Guard)), Does.EndWith(":m"));
    }

    [Test]
    public async Task AServerCertificateOfAnotherCA_IsRefusedByTheDialer()
    {
        // Node 0 has a certificate of another CA and is the side that accepts; node 1 dials it and refuses it.
        var addresses = Node1DialsNode0();
        var nodes = await StartAsync(i => Node(i == 0 ? Other : Cluster), addresses);
        var refused = await RealGrid.DialFailsAsync(nodes[1].Connections.Single());
        Assert.That(refused.ToString(), Does.Contain("SSL").IgnoreCase.Or.Contain("certificate").IgnoreCase);
        await AcceptorLoggedTheRefusalAsync(nodes);
    }

    [Test]
    public async Task AnExpiredServerCertificate_IsRefused()
    {
        var nodes = await StartAsync(_ => Node(Cluster, expired: true));
        var refused = await RealGrid.DialFailsAsync(Dialer(nodes));
        Assert.That(refused.ToString(), Does.Contain("SSL").IgnoreCase.Or.Contain("certificate").IgnoreCase);
        await AcceptorLoggedTheRefusalAsync(nodes);
    }

    [Test]
    public async Task MutualTls_ADialerWithoutAClientCertificate_IsRefused()
    {
        var nodes = await StartAsync(_ => Node(Cluster, mutual: true, presentClientCertificate: false));
        var refused = await RealGrid.DialFailsAsync(Dialer(nodes));
        Assert.That(refused, Is.Not.Null);
        Assert.That(nodes.All(n => n.Connections.Single().State != ConnectionState.Connected), Is.True);
        await AcceptorLoggedTheRefusalAsync(nodes);
    }

    [Test]
    public async Task APlainWsDialer_ToAWssNode_IsRefused()
    {
        // Node 1 speaks plain ws and dials node 0, which serves wss only.
        var nodes = await StartAsync(i => i == 0 ? Node(Cluster) : null, Node1DialsNode0());
        var refused = await RealGrid.DialFailsAsync(nodes[1].Connections.Single());
        Assert.That(refused, Is.Not.Null);
        await AcceptorLoggedTheRefusalAsync(nodes);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task AServerCertificateCallback_ReplacesTheCACheck_PinningByThumbprint(bool pinMatches)
    {
        // Node 0 accepts with a certificate of another CA; node 1 dials it and trusts exactly one thumbprint.
        using var pinned = Other.Issue();
        var expected = pinMatches ? pinned.Thumbprint : Cluster.Authority.Thumbprint;
        var nodes = await StartAsync(i => i == 0
            ? new GridTlsOptions { ServerCertificate = pinned, TrustedRoots = [Other.Authority] }
            : new GridTlsOptions
            {
                ServerCertificate = Cluster.Issue(),
                ValidateServerCertificate = (_, certificate, _, _) => certificate?.GetCertHashString() == expected,
            }, Node1DialsNode0());

        if (pinMatches)
        {
            await nodes[1].Connections.Single().FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
            Assert.That(Text(await nodes[1].Connections.Single().Request(Echo, Bytes("pinned")).ToTask().WaitAsync(RealGrid.Guard)), Does.EndWith(":pinned"));
            return;
        }

        var refused = await RealGrid.DialFailsAsync(nodes[1].Connections.Single());
        Assert.That(refused.ToString(), Does.Contain("SSL").IgnoreCase.Or.Contain("certificate").IgnoreCase);
        await AcceptorLoggedTheRefusalAsync(nodes);
    }

    [TestCase("CN=admitted", true)]
    [TestCase("CN=client", false)]
    public async Task AClientCertificateCallback_DecidesWhichDialersGetIn(string presented, bool admitted)
    {
        // Node 0 accepts and admits only the subject "admitted"; node 1 dials it with a certificate of the same CA.
        var nodes = await StartAsync(i => i == 0
            ? new GridTlsOptions
            {
                ServerCertificate = Cluster.Issue(),
                RequireClientCertificate = true,
                TrustedRoots = [Cluster.Authority],
                ValidateClientCertificate = (certificate, _, _) => certificate.Subject == "CN=admitted",
            }
            : new GridTlsOptions
            {
                ServerCertificate = Cluster.Issue(),
                ClientCertificate = Cluster.Issue(presented["CN=".Length..]),
                TrustedRoots = [Cluster.Authority],
            }, Node1DialsNode0());

        if (admitted)
        {
            await nodes[1].Connections.Single().FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
            Assert.That(Text(await nodes[1].Connections.Single().Request(Echo, Bytes("admitted")).ToTask().WaitAsync(RealGrid.Guard)), Does.EndWith(":admitted"));
            return;
        }

        Assert.That(await RealGrid.DialFailsAsync(nodes[1].Connections.Single()), Is.Not.Null);
        await AcceptorLoggedTheRefusalAsync(nodes);
    }

    [Test]
    public void AddressesAndOptions_ThatContradictEachOther_AreRefusedSayingWhy()
    {
        Assert.That(() => new WebSocketTransport(new WebSocketTransportOptions { Tls = new GridTlsOptions() }),
            Throws.ArgumentException.With.Message.Contains("ServerCertificate"));
        Assert.That(() => Grid.Reactive.Transport.WebSocketAddress.Parse("wss://127.0.0.1:5000", tls: false),
            Throws.ArgumentException.With.Message.Contains("no TLS options"));
        Assert.That(() => Grid.Reactive.Transport.WebSocketAddress.Parse("ws://127.0.0.1:5000", tls: true),
            Throws.ArgumentException.With.Message.Contains("uses TLS"));
        Assert.That(Grid.Reactive.Transport.WebSocketAddress.Parse("127.0.0.1:5000", tls: true).WebSocketUri("/grid/v1").Scheme, Is.EqualTo("wss"));
    }
}
