using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// Certificates from the user's certificate store by thumbprint (<see cref="GridTlsOptions.LoadFromStore"/>, and
/// <c>Tls:CertificateThumbprint</c> in configuration), over real loopback wss.
/// </summary>
public sealed class CertificateStoreTests
{
    private static readonly TestCertificates Cluster = new("Store test CA");
    private readonly List<X509Certificate2> _stored = [];
    private string _caFile = "";

    [SetUp]
    public void SetUp()
    {
        _caFile = Path.Combine(Path.GetTempPath(), $"grid-ca-{Guid.NewGuid():N}.crt");
        File.WriteAllText(_caFile, Cluster.Authority.ExportCertificatePem());
    }

    [TearDown]
    public void TearDown()
    {
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        foreach (var certificate in _stored)
        {
            store.Remove(certificate);
            certificate.Dispose();
        }

        _stored.Clear();
        File.Delete(_caFile);
    }

    [OneTimeTearDown]
    public static void DisposeCertificates() => Cluster.Dispose();

    /// <summary>Puts <paramref name="certificate"/> into CurrentUser\My for this test; returns its thumbprint.</summary>
    private string Store(X509Certificate2 certificate)
    {
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(certificate);
        _stored.Add(certificate);
        return certificate.Thumbprint;
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Grid");

    private Dictionary<string, string?> Node(string address, string[] all, string thumbprint)
    {
        var values = new Dictionary<string, string?>
        {
            ["Grid:Address"] = address,
            ["Grid:SelfHost"] = "true",
            ["Grid:Secret"] = "a-shared-secret-of-enough-bytes",
            ["Grid:Tls:CertificateThumbprint"] = thumbprint,
            ["Grid:Tls:ClientCertificateThumbprint"] = thumbprint,
            ["Grid:Tls:RequireClientCertificate"] = "true",
            ["Grid:Tls:TrustedRootPaths:0"] = _caFile,
        };
        for (var i = 0; i < all.Length; i++)
        {
            values[$"Grid:Remotes:{i}"] = all[i];
        }

        return values;
    }

    [Test]
    public async Task NodesConfiguredWithThumbprints_TalkOverMutualTls()
    {
        string[] all = [FreePort.NextAddress(), FreePort.NextAddress()];
        var hosts = new List<IHost>();
        try
        {
            foreach (var address in all)
            {
                var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
                builder.Services.AddGrid(Section(Node(address, all, Store(Cluster.Issue()))));
                var host = builder.Build();
                hosts.Add(host);
                RegisterBasics(host.Services.GetRequiredService<Manager>());
                await host.StartAsync();
            }

            var first = hosts[0].Services.GetRequiredService<Manager>().Connection(all[1]);
            await first.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);

            var echo = await first.Request(Echo, Bytes("from the store")).ToTask().WaitAsync(RealGrid.Guard);
            Assert.That(Text(echo), Is.EqualTo($"{all[1]}:from the store"));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.StopAsync();
                host.Dispose();
            }
        }
    }

    [Test]
    public void LoadFromStore_FindsByThumbprint_InAnyCaseAndWithSpaces()
    {
        var thumbprint = Store(Cluster.Issue());
        var spaced = string.Join(' ', thumbprint.ToLowerInvariant().Chunk(2).Select(pair => new string(pair)));

        using var loaded = GridTlsOptions.LoadFromStore(spaced);

        Assert.That(loaded.Thumbprint, Is.EqualTo(thumbprint));
        Assert.That(loaded.HasPrivateKey, Is.True);
    }

    [Test]
    public void LoadFromStore_WithoutSuchACertificate_OrWithoutItsKey_SaysSo()
    {
        using var issued = Cluster.Issue();
        var withoutKey = Store(X509CertificateLoader.LoadCertificate(issued.RawData));

        Assert.That(() => GridTlsOptions.LoadFromStore(new string('0', 40)),
            Throws.InvalidOperationException.With.Message.EqualTo($"The store CurrentUser\\My has no certificate with thumbprint {new string('0', 40)}."));
        Assert.That(() => GridTlsOptions.LoadFromStore(withoutKey),
            Throws.InvalidOperationException.With.Message.Contains("has no private key"));
        Assert.That(() => GridTlsOptions.LoadFromStore(" "), Throws.ArgumentException);
    }

    [Test]
    public void StartingTheHost_WithThumbprintsThatDoNotResolve_NamesEachKey()
    {
        string[] all = ["127.0.0.1:7001", "127.0.0.1:7002"];
        var values = Node(all[0], all, new string('A', 40));
        values["Grid:Tls:ClientCertificatePath"] = _caFile;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddGrid(Section(values));
        using var host = builder.Build();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(error!.Failures, Is.EquivalentTo(new[]
        {
            $"Grid:Tls:CertificateThumbprint: The store CurrentUser\\My has no certificate with thumbprint {new string('A', 40)}.",
            "Grid:Tls:ClientCertificatePath and Grid:Tls:ClientCertificateThumbprint are both set; give one.",
        }));
    }

    [Test]
    public void StartingASelfHostedTlsGrid_WithNoServerCertificate_NamesBothWaysToGiveOne()
    {
        string[] all = ["127.0.0.1:7001", "127.0.0.1:7002"];
        var values = Node(all[0], all, "");
        values.Remove("Grid:Tls:CertificateThumbprint");
        values.Remove("Grid:Tls:ClientCertificateThumbprint");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddGrid(Section(values));
        using var host = builder.Build();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(error!.Failures, Is.EqualTo(new[]
        {
            "Grid:Tls:CertificatePath or Grid:Tls:CertificateThumbprint is required for a self-hosted grid with TLS.",
        }));
    }
}
