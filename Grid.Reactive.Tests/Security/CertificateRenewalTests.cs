using System.Collections.Concurrent;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Security.Cryptography.X509Certificates;
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
/// Certificates renewed while nodes run (<see cref="CertificateFile"/>, the certificate selectors, and
/// <c>Tls:ReloadOnChange</c> in configuration): new links use the new certificate, with no restart.
/// </summary>
public sealed class CertificateRenewalTests
{
    private const string Password = "renewal-test";
    private static readonly TestCertificates Cluster = new("Renewal test CA");
    private readonly List<IAsyncDisposable> _owned = [];
    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = Directory.CreateTempSubdirectory("grid-renewal-").FullName;

    [TearDown]
    public async Task TearDown()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        _owned.Clear();
        Directory.Delete(_folder, recursive: true);
    }

    [OneTimeTearDown]
    public static void DisposeCertificates() => Cluster.Dispose();

    /// <summary>Writes a certificate of the cluster's CA for <paramref name="subject"/> over <paramref name="path"/>, as a renewal does.</summary>
    private static X509Certificate2 WriteCertificate(string path, string subject, string password = Password)
    {
        var certificate = Cluster.Issue(subject);
        var previous = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTime.MinValue;
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));

        // A renewal is later than what it replaces, even where the file system's clock is coarse.
        if (File.GetLastWriteTimeUtc(path) <= previous)
        {
            File.SetLastWriteTimeUtc(path, previous.AddSeconds(1));
        }

        return certificate;
    }

    private Manager Node(string address, string[] all, GridTlsOptions tls)
    {
        var node = new Manager(RealGrid.Options(address, all, new WebSocketTransport(new WebSocketTransportOptions { Tls = tls })));
        RegisterBasics(node);
        _owned.Insert(0, node);
        return node;
    }

    private static async Task<string> EchoAsync(Connection connection, string text)
    {
        await connection.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        return Text(await connection.Request(Echo, Bytes(text)).ToTask().WaitAsync(RealGrid.Guard));
    }

    [Test]
    public async Task ARenewedServerCertificateFile_ServesTheNextLink_WithoutARestart_AndIsLogged()
    {
        var (dialerAddress, acceptorAddress) = FreePort.DialingPair();
        string[] all = [acceptorAddress, dialerAddress];
        var path = Path.Combine(_folder, "node.pfx");
        using var first = WriteCertificate(path, "node-2026");
        var caFile = Path.Combine(_folder, "ca.crt");
        await File.WriteAllTextAsync(caFile, Cluster.Authority.ExportCertificatePem());

        // The accepting node is configured as an application would configure it: a path, reloaded on change (the default).
        var values = new Dictionary<string, string?>
        {
            ["Grid:Address"] = acceptorAddress,
            ["Grid:Remotes:0"] = acceptorAddress,
            ["Grid:Remotes:1"] = dialerAddress,
            ["Grid:SelfHost"] = "true",
            ["Grid:Secret"] = Text(VirtualGrid.Secret),
            ["Grid:Tls:CertificatePath"] = path,
            ["Grid:Tls:CertificatePassword"] = Password,
            ["Grid:Tls:TrustedRootPaths:0"] = caFile,
        };
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(logging => logging.AddFakeLogging());
        builder.Services.AddGrid(new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Grid"));
        var host = builder.Build();
        RegisterBasics(host.Services.GetRequiredService<Manager>());
        await host.StartAsync();
        _owned.Add(new AsyncDisposableHost(host));

        // What each dial was shown.
        var seen = new ConcurrentQueue<string>();
        var dialerTls = new GridTlsOptions
        {
            ServerCertificate = Cluster.Issue(),
            TrustedRoots = [Cluster.Authority],
            ValidateServerCertificate = (_, certificate, _, _) =>
            {
                seen.Enqueue(certificate!.Subject);
                return certificate.Issuer == Cluster.Authority.Subject;
            },
        };
        var before = Node(dialerAddress, all, dialerTls);
        await before.StartAsync();
        Assert.That(await EchoAsync(before.Connection(acceptorAddress), "before"), Is.EqualTo($"{acceptorAddress}:before"));
        await before.DisposeAsync();
        Assert.That(seen.Distinct(), Is.EqualTo(new[] { "CN=node-2026" }));

        using var renewed = WriteCertificate(path, "node-2027");
        var after = Node(dialerAddress, all, dialerTls);
        await after.StartAsync();

        Assert.That(await EchoAsync(after.Connection(acceptorAddress), "after"), Is.EqualTo($"{acceptorAddress}:after"), "the binding covers the renewed certificate too");
        Assert.That(seen.Last(), Is.EqualTo("CN=node-2027"));
        var reloaded = host.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == 4003).ToList();
        Assert.That(reloaded, Has.Count.EqualTo(1));
        Assert.That(reloaded[0].Message, Does.Contain("CN=node-2027").And.Contain(renewed.Thumbprint));
        Assert.That(reloaded[0].Category, Is.EqualTo("Grid.Reactive.Transport"));
    }

    [Test]
    public async Task AClientCertificateSelector_IsAskedOnEveryDial()
    {
        var (dialerAddress, acceptorAddress) = FreePort.DialingPair();
        string[] all = [acceptorAddress, dialerAddress];
        var admitted = new ConcurrentQueue<string>();
        var acceptor = Node(acceptorAddress, all, new GridTlsOptions
        {
            ServerCertificate = Cluster.Issue(),
            RequireClientCertificate = true,
            TrustedRoots = [Cluster.Authority],
            ValidateClientCertificate = (certificate, _, _) =>
            {
                admitted.Enqueue(certificate.Subject);
                return true;
            },
        });
        await acceptor.StartAsync();

        var current = Cluster.Issue("client-1");
        GridTlsOptions DialerTls() => new()
        {
            ServerCertificate = Cluster.Issue(),
            ClientCertificate = Cluster.Issue("never-used"),
            ClientCertificateSelector = () => Volatile.Read(ref current),
            TrustedRoots = [Cluster.Authority],
        };
        var before = Node(dialerAddress, all, DialerTls());
        await before.StartAsync();
        Assert.That(await EchoAsync(before.Connection(acceptorAddress), "one"), Does.EndWith(":one"));
        await before.DisposeAsync();

        Volatile.Write(ref current, Cluster.Issue("client-2"));
        var after = Node(dialerAddress, all, DialerTls());
        await after.StartAsync();
        Assert.That(await EchoAsync(after.Connection(acceptorAddress), "two"), Does.EndWith(":two"));

        Assert.That(admitted.Distinct(), Is.EqualTo(new[] { "CN=client-1", "CN=client-2" }));
    }

    [TestCase("client certificate selector")]
    [TestCase("server certificate selector")]
    [TestCase("dialer hook")]
    public async Task ASelectorOrHookThatThrows_FailsThoseDials_AndTheGridConnectsOnceItStops(string which)
    {
        var (dialerAddress, acceptorAddress) = FreePort.DialingPair();
        string[] all = [acceptorAddress, dialerAddress];
        var failing = 1;
        X509Certificate2 Throwing(X509Certificate2 certificate) =>
            Volatile.Read(ref failing) == 1 ? throw new InvalidOperationException($"the {which} failed") : certificate;

        var serverCertificate = Cluster.Issue();
        var acceptor = Node(acceptorAddress, all, new GridTlsOptions
        {
            ServerCertificate = serverCertificate,
            ServerCertificateSelector = which == "server certificate selector" ? () => Throwing(serverCertificate) : null,
            RequireClientCertificate = true,
            TrustedRoots = [Cluster.Authority],
        });
        await acceptor.StartAsync();
        var clientCertificate = Cluster.Issue("client");
        var dialer = new Manager(RealGrid.Options(dialerAddress, all, new WebSocketTransport(new WebSocketTransportOptions
        {
            Tls = new GridTlsOptions
            {
                ServerCertificate = Cluster.Issue(),
                ClientCertificate = clientCertificate,
                ClientCertificateSelector = which == "client certificate selector" ? () => Throwing(clientCertificate) : null,
                TrustedRoots = [Cluster.Authority],
            },
            ConfigureDialer = which == "dialer hook" ? _ => Throwing(clientCertificate) : null,
        })));
        RegisterBasics(dialer);
        _owned.Insert(0, dialer);
        await dialer.StartAsync();

        var refused = await RealGrid.DialFailsAsync(dialer.Connection(acceptorAddress));
        if (which != "server certificate selector")
        {
            Assert.That(refused.ToString(), Does.Contain($"the {which} failed"), "the dialer's error is the callback's");
        }

        Volatile.Write(ref failing, 0);
        Assert.That(await EchoAsync(dialer.Connection(acceptorAddress), "recovered"), Is.EqualTo($"{acceptorAddress}:recovered"));
    }

    [Test]
    public void ACertificateFile_ReloadsOnlyWhenTheFileChanges()
    {
        var path = Path.Combine(_folder, "node.pfx");
        using var first = WriteCertificate(path, "first");
        var file = new CertificateFile(path, Password);

        var loaded = file.Current;
        Assert.That(loaded.Thumbprint, Is.EqualTo(first.Thumbprint));
        Assert.That(file.Current, Is.SameAs(loaded), "an unchanged file is not read again");

        using var second = WriteCertificate(path, "second");
        Assert.That(file.Current.Thumbprint, Is.EqualTo(second.Thumbprint));
        Assert.That(file.Current.HasPrivateKey, Is.True);
        Assert.That(file.LastError, Is.Null);
    }

    [Test]
    [Category("Stress")]
    public async Task ReadersOnRealThreads_WhileTheFileIsRenewedOverAndOver_OnlyEverSeeWholeCertificatesThatWereWritten()
    {
        var path = Path.Combine(_folder, "node.pfx");
        var written = new ConcurrentDictionary<string, bool>();
        written[WriteCertificate(path, "renewal 0").Thumbprint] = true;
        var file = new CertificateFile(path, Password);
        var renewals = Enumerable.Range(1, 10).Select(i => Cluster.Issue($"renewal {i}")).ToList();
        using var stop = new CancellationTokenSource();
        var seen = new ConcurrentDictionary<string, bool>();
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var reads = 0;
            while (!stop.IsCancellationRequested || reads == 0)
            {
                var current = file.Current;
                Assert.That(current.HasPrivateKey, Is.True);
                seen[current.Thumbprint] = true;
                reads++;
            }

            return reads;
        })).ToArray();

        var last = "";
        foreach (var next in renewals)
        {
            // The thumbprint is recorded before the file is written: a reader may see it as soon as it is on disk.
            last = next.Thumbprint;
            written[next.Thumbprint] = true;
            var previous = File.GetLastWriteTimeUtc(path);
            File.WriteAllBytes(path, next.Export(X509ContentType.Pkcs12, Password));
            if (File.GetLastWriteTimeUtc(path) <= previous)
            {
                File.SetLastWriteTimeUtc(path, previous.AddSeconds(1));
            }
        }

        await stop.CancelAsync();
        var reads = await Task.WhenAll(readers).WaitAsync(RealGrid.Guard);

        Assert.That(reads, Has.All.GreaterThan(0));
        Assert.That(seen.Keys, Is.SubsetOf(written.Keys), "never a certificate that was not written");
        Assert.That(file.Current.Thumbprint, Is.EqualTo(last), "once the writes stop, the last renewal is served");
    }

    [TestCase("half written")]
    [TestCase("wrong password")]
    [TestCase("deleted")]
    public void ACertificateFileThatCannotBeLoaded_KeepsTheLastGoodCertificate_SaysWhy_AndRecovers(string damage)
    {
        var path = Path.Combine(_folder, "node.pfx");
        using var good = WriteCertificate(path, "good");
        var log = new FakeLogger();
        var file = new CertificateFile(path, Password, log);

        switch (damage)
        {
            case "half written":
                var bytes = File.ReadAllBytes(path);
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            case "wrong password":
                WriteCertificate(path, "other password", password: "not-the-configured-one").Dispose();
                break;
            default:
                File.Delete(path);
                break;
        }

        Assert.That(file.Current.Thumbprint, Is.EqualTo(good.Thumbprint), "still serving the last good certificate");
        Assert.That(file.LastError, Is.Not.Null);
        Assert.That(log.LatestRecord.Id.Id, Is.EqualTo(4004));
        Assert.That(log.LatestRecord.Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(log.LatestRecord.Message, Does.Contain(path).And.Contain(good.Thumbprint));

        using var fixedUp = WriteCertificate(path, "fixed");
        Assert.That(file.Current.Thumbprint, Is.EqualTo(fixedUp.Thumbprint));
        Assert.That(file.LastError, Is.Null);
        Assert.That(log.LatestRecord.Id.Id, Is.EqualTo(4003));
    }

    [Test]
    public void ACertificateFileThatCannotBeLoadedAtFirst_IsAnErrorAtOnce()
    {
        var path = Path.Combine(_folder, "missing.pfx");
        Assert.That(() => new CertificateFile(path), Throws.InstanceOf<System.Security.Cryptography.CryptographicException>()
            .With.Message.StartsWith($"The certificate file {path} cannot be loaded: Could not find file"));
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.That(() => new CertificateFile(path), Throws.InstanceOf<System.Security.Cryptography.CryptographicException>()
            .With.Message.StartsWith($"The certificate file {path} cannot be loaded: "));
    }

    private sealed class AsyncDisposableHost(IHost host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
