using Grid.Reactive;
using Grid.Reactive.Testing;

/// <summary>
/// For <c>--tls</c>: a private CA made on the fly (<see cref="TestCertificateAuthority"/>) and a certificate it signs
/// for the nodes (127.0.0.1 and localhost, server and client use), so the sample grid runs over wss with mutual TLS. A
/// real cluster loads its CA and node certificates from files or a store instead (<see cref="GridTlsOptions.LoadPfx"/>,
/// <see cref="GridTlsOptions.LoadFromStore"/>).
/// </summary>
internal static class SampleCertificates
{
    public static GridTlsOptions MutualTls()
    {
        // Kept for the process: its certificate is the trusted root of every link.
        var authority = new TestCertificateAuthority("Sample grid CA");
        var node = authority.Issue(["127.0.0.1", "localhost"], "sample-node");
        return new GridTlsOptions
        {
            ServerCertificate = node,                 // what this node shows when dialed
            ClientCertificate = node,                 // what it shows when it dials (mutual TLS)
            RequireClientCertificate = true,          // dialers must show one, signed by the CA
            RequirePeerIdentity = true,               // ... naming the host it claims to be
            TrustedRoots = [authority.Certificate],   // the only CA trusted, instead of the system's
        };
    }
}
