using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Testing;

namespace Grid.Reactive.FaultRun;

/// <summary>
/// For <c>run.sh --tls</c>: a private CA and one certificate per node naming its IP address, written once before the
/// nodes start (<c>--role certs</c>), then each node's mutual TLS with peer identity from those files.
/// </summary>
internal static class NodeCertificates
{
    private const string AuthorityFile = "ca.crt";

    public static int Write(NodeArgs args)
    {
        var dir = args.TlsDir!;
        Directory.CreateDirectory(dir);
        var authority = new TestCertificateAuthority("Fault run CA");
        File.WriteAllText(Path.Combine(dir, AuthorityFile), authority.Certificate.ExportCertificatePem());
        foreach (var node in args.Nodes)
        {
            var host = Host(node);
            using var certificate = authority.Issue([host], $"grid node {host}");
            File.WriteAllBytes(CertificateFile(dir, node), certificate.Export(X509ContentType.Pkcs12));
        }

        Console.WriteLine($"certificates for {args.Nodes.Count} nodes in {dir}");
        return 0;
    }

    /// <summary>Mutual TLS for the node at <paramref name="address"/>: its own certificate both ways, the run's CA only, identities checked.</summary>
    public static GridTlsOptions Tls(string dir, string address)
    {
        var mine = GridTlsOptions.LoadPfx(CertificateFile(dir, address));
        return new GridTlsOptions
        {
            ServerCertificate = mine,
            ClientCertificate = mine,
            RequireClientCertificate = true,
            RequirePeerIdentity = true,
            TrustedRoots = [X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, AuthorityFile))],
        };
    }

    private static string Host(string address) => address[..address.LastIndexOf(':')];

    private static string CertificateFile(string dir, string address) => Path.Combine(dir, Host(address) + ".pfx");
}
