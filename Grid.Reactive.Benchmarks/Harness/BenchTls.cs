using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// The TLS of a <c>--tls</c> run: one private CA and one node certificate it signs (for 127.0.0.1 and localhost, RSA
/// 2048, SHA-256, server and client use), made in memory when the run starts; nothing is written to disk. Every system
/// serves the node certificate and its clients trust the CA alone, checking the chain and the name as the grid does.
/// </summary>
public sealed class BenchTls : IDisposable
{
    private readonly RSA _authorityKey = RSA.Create(2048);

    /// <summary>Makes the CA and the node certificate.</summary>
    public BenchTls()
    {
        var request = new CertificateRequest("CN=Grid.Reactive benchmark CA", _authorityKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        ServerCertificate = Issue("benchmark node");
    }

    /// <summary>The private CA: the only root every client trusts.</summary>
    public X509Certificate2 Authority { get; }

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
        Authority.Dispose();
        _authorityKey.Dispose();
    }

    private X509Certificate2 Issue(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var signed = request.Create(Authority.SubjectName, X509SignatureGenerator.CreateForRSA(_authorityKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);

        // Through PKCS#12 so that the TLS stack can use the key; an ephemeral key set keeps it in memory (Windows' TLS
        // needs a stored key, so there the default flags apply).
        var flags = OperatingSystem.IsWindows() ? X509KeyStorageFlags.DefaultKeySet : X509KeyStorageFlags.EphemeralKeySet;
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, flags);
    }
}
