using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Grid.Reactive.Testing;

/// <summary>
/// A private certificate authority made in memory, for tests and local runs of a grid over TLS: pin
/// <see cref="Certificate"/> as the trusted root, and give each node a certificate from <see cref="Issue"/>. Nothing
/// is written to disk or to a certificate store. Not for production: its key lives only in this process.
/// </summary>
/// <remarks>Thread-safe. Certificates it issued stay usable after it is disposed; dispose them yourself.</remarks>
public sealed class TestCertificateAuthority : IDisposable
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");
    private readonly RSA _key = RSA.Create(2048);

    /// <summary>Makes the authority: a self-signed CA certificate, valid from a day ago for a year.</summary>
    /// <param name="name">Its common name.</param>
    public TestCertificateAuthority(string name = "Grid.Reactive test CA")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    /// <summary>The authority's certificate: the root a node trusts (with its private key, which nodes do not need).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// Issues a certificate with its private key for server and client authentication (so one certificate serves a
    /// node both when it is dialed and when it dials), naming <paramref name="names"/> in its subject alternative
    /// names: IP addresses (<c>127.0.0.1</c>, <c>::1</c>) and DNS names (<c>localhost</c>, <c>*.cluster.test</c>).
    /// </summary>
    /// <param name="names">The IP addresses and DNS names it is for; at least one.</param>
    /// <param name="subject">Its common name; null for the first name.</param>
    /// <param name="notBefore">Start of validity; null for a day ago (or 28 days before an end already past).</param>
    /// <param name="notAfter">End of validity; null for 30 days from now. A past date makes an expired certificate.</param>
    /// <returns>The certificate, with its private key, usable by the platform's TLS stack.</returns>
    /// <exception cref="ArgumentException">No names, or a blank one.</exception>
    public X509Certificate2 Issue(IEnumerable<string> names, string? subject = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        ArgumentNullException.ThrowIfNull(names);
        var list = names.ToList();
        if (list.Count == 0 || list.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("A certificate needs at least one name, and no blank ones.", nameof(names));
        }

        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject ?? list[0]}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var alternatives = new SubjectAlternativeNameBuilder();
        foreach (var name in list)
        {
            if (IPAddress.TryParse(name.Trim('[', ']'), out var ip))
            {
                alternatives.AddIpAddress(ip);
            }
            else
            {
                alternatives.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(alternatives.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuthentication, ClientAuthentication], false));
        var until = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        var from = notBefore ?? (until < DateTimeOffset.UtcNow ? until.AddDays(-28) : DateTimeOffset.UtcNow.AddDays(-1));
        using var signed = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForRSA(_key, RSASignaturePadding.Pkcs1),
            from, until, RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);

        // Through PKCS#12, so the key is one the TLS stack can use on every platform (not an ephemeral in-memory key).
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Disposes the authority's key and certificate.</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
