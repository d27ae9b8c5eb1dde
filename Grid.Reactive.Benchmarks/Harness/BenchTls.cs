using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// The TLS of a <c>--tls</c> run: one private CA (<see cref="TestCertificateAuthority"/>) and one node certificate it
/// signs (for 127.0.0.1 and localhost, RSA 2048, SHA-256, server and client use), made in memory when the run starts;
/// nothing is written to disk. Every system
/// serves the node certificate and its clients trust the CA alone, checking the chain and the name as the grid does.
/// </summary>
public sealed class BenchTls : IDisposable
{
    private readonly TestCertificateAuthority _authority = new("Grid.Reactive benchmark CA");

    /// <summary>Makes the CA and the node certificate.</summary>
    public BenchTls() => ServerCertificate = _authority.Issue(["127.0.0.1", "localhost"], "benchmark node");

    /// <summary>The private CA: the only root every client trusts.</summary>
    public X509Certificate2 Authority => _authority.Certificate;

    /// <summary>The certificate every server presents (127.0.0.1 and localhost), with its private key.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>The grid's TLS: the node certificate, the CA pinned, channel binding and everything else at the defaults.</summary>
    public GridTlsOptions GridOptions => new() { ServerCertificate = ServerCertificate, TrustedRoots = [Authority] };

    /// <summary>The protocol and cipher suite a handshake of this run negotiated (tcp-raw's, which can tell), or null.</summary>
    public string? Negotiated { get; set; }

    /// <summary>"wss" with TLS, else "ws".</summary>
    public static string WebSocketScheme(BenchTls? tls) => tls is null ? "ws" : "wss";

    /// <summary>"https" with TLS, else "http".</summary>
    public static string HttpScheme(BenchTls? tls) => tls is null ? "http" : "https";

    /// <summary>Makes a <see cref="System.Net.WebSockets.ClientWebSocket"/> trust the CA; nothing without TLS.</summary>
    public static void Configure(ClientWebSocketOptions options, BenchTls? tls)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (tls is not null)
        {
            options.RemoteCertificateValidationCallback = tls.Validate;
        }
    }

    /// <summary>
    /// A client's check of the server's certificate: the name (the host dialed) and the chain, built against the CA
    /// alone (custom root trust, no revocation check), as the grid's own check with pinned roots does.
    /// </summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var ours = new X509Chain();
        ours.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        ours.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        ours.ChainPolicy.CustomTrustStore.Add(Authority);
        return certificate is X509Certificate2 server ? ours.Build(server) : ours.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ServerCertificate.Dispose();
        _authority.Dispose();
    }
}
