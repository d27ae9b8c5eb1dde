using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Connections;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// <see cref="GridTlsOptions.RequirePeerIdentity"/>: under mutual TLS, a dialer's client certificate must name the host
/// it claims in the handshake, so a member cannot pose as a node on another host. Over real loopback wss.
/// </summary>
public sealed class PeerIdentityTests
{
    private static readonly TestCertificates Cluster = new("Identity test CA");
    private readonly List<Manager> _nodes = [];

    [OneTimeTearDown]
    public static void DisposeCertificates() => Cluster.Dispose();

    [TearDown]
    public async Task TearDown()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
    }

    private async Task<Manager> StartAsync(string address, string[] all, GridTlsOptions tls, CapturingLogger? log = null)
    {
        var node = new Manager(RealGrid.Options(address, all, new WebSocketTransport(new WebSocketTransportOptions { Tls = tls })) with { Logger = log });
        RegisterBasics(node);
        _nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    private static GridTlsOptions Tls(X509Certificate2 clientCertificate) => new()
    {
        ServerCertificate = Cluster.Issue(),
        ClientCertificate = clientCertificate,
        RequireClientCertificate = true,
        RequirePeerIdentity = true,
        TrustedRoots = [Cluster.Authority],
    };

    [Test]
    public async Task ADialerWhoseCertificateNamesItsHost_IsServed()
    {
        var (dialerAddress, acceptorAddress) = FreePort.DialingPair();
        string[] all = [acceptorAddress, dialerAddress];
        await StartAsync(acceptorAddress, all, Tls(Cluster.Issue("acceptor")));
        var dialer = await StartAsync(dialerAddress, all, Tls(Cluster.Issue("dialer", names: ["127.0.0.1"])));

        var connection = dialer.Connection(acceptorAddress);
        await connection.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(await connection.Request(Echo, Bytes("me")).ToTask().WaitAsync(RealGrid.Guard)), Is.EqualTo($"{acceptorAddress}:me"));
    }

    [Test]
    public async Task ADialerWhoseCertificateNamesAnotherHost_IsRefusedAsIdentity_AndTheAcceptorLogsWhatItNames()
    {
        // A member of the cluster (its CA, the shared secret) whose certificate is for another host, claiming 127.0.0.1.
        var (dialerAddress, acceptorAddress) = FreePort.DialingPair();
        string[] all = [acceptorAddress, dialerAddress];
        var acceptorLog = new CapturingLogger();
        var acceptor = await StartAsync(acceptorAddress, all, Tls(Cluster.Issue("acceptor")), acceptorLog);
        var dialer = await StartAsync(dialerAddress, all, Tls(Cluster.Issue("impostor", names: ["10.20.30.40", "db-7.cluster.example"])));

        var refused = await RealGrid.DialFailsAsync(dialer.Connection(acceptorAddress));

        Assert.That(refused.Message, Does.Contain("refused: identity"));
        await acceptorLog.WaitForAsync("names db-7.cluster.example, 10.20.30.40, not its host").WaitAsync(RealGrid.Guard);
        Assert.That(acceptor.Connection(dialerAddress).State, Is.Not.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public void RequirePeerIdentity_WithoutClientCertificates_IsRefusedSayingWhy() =>
        Assert.That(() => new WebSocketTransport(new WebSocketTransportOptions
        {
            Tls = new GridTlsOptions { ServerCertificate = Cluster.Issue(), RequirePeerIdentity = true },
        }), Throws.ArgumentException.With.Message.StartsWith("GridTlsOptions.RequirePeerIdentity needs RequireClientCertificate"));

    [TestCase("127.0.0.1:7000", new[] { "127.0.0.1" }, true)]
    [TestCase("wss://127.0.0.1:7000", new[] { "localhost", "127.0.0.1" }, true)]
    [TestCase("127.0.0.1:7000", new[] { "127.0.0.2", "localhost" }, false)]
    [TestCase("[::1]:7000", new[] { "::1" }, true)]
    [TestCase("[::1]:7000", new[] { "127.0.0.1" }, false)]
    [TestCase("Node-3.Cluster.Example:7000", new[] { "node-3.cluster.example" }, true)]
    [TestCase("node-3.cluster.example:7000", new[] { "*.cluster.example" }, true)]
    [TestCase("a.node-3.cluster.example:7000", new[] { "*.cluster.example" }, false)]
    [TestCase("cluster.example:7000", new[] { "*.cluster.example" }, false)]
    [TestCase("node-3.cluster.example:7000", new[] { "*" }, false)]
    [TestCase("node-3.cluster.example:7000", new string[0], false)]
    [TestCase("not an address", new[] { "not an address" }, false)]
    public void ACertificateCertifiesAnAddress_OnlyByItsHost(string address, string[] names, bool certified) =>
        Assert.That(PeerIdentity.Certifies(names, address), Is.EqualTo(certified));
}
