using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grid.Reactive;

/// <summary>
/// For <c>--tls</c>: a private CA made on the fly and a certificate it signs for the nodes (127.0.0.1 and localhost,
/// server and client use), so the sample grid runs over wss with mutual TLS. A real cluster loads its CA and node
/// certificates from files or a store instead (<see cref="GridTlsOptions.LoadPfx"/>).
/// </summary>
internal static class SampleCertificates
{
    public static GridTlsOptions MutualTls()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Sample grid CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var authority = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        using var nodeKey = RSA.Create(2048);
        var nodeRequest = new CertificateRequest("CN=sample-node", nodeKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        nodeRequest.CertificateExtensions.Add(names.Build());
        nodeRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        using var signed = nodeRequest.Create(authority.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(nodeKey);
        var node = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);

        return new GridTlsOptions
        {
            ServerCertificate = node,                 // what this node shows when dialed
            ClientCertificate = node,                 // what it shows when it dials (mutual TLS)
            RequireClientCertificate = true,          // dialers must show one, signed by the CA
            TrustedRoots = [authority],               // the only CA trusted, instead of the system's
        };
    }
}
