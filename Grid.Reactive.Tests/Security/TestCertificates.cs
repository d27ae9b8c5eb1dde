using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Security;

/// <summary>The TLS tests' private CA (<see cref="TestCertificateAuthority"/>) with their defaults: certificates for 127.0.0.1 and localhost.</summary>
public sealed class TestCertificates(string name = "Grid test CA") : IDisposable
{
    private readonly TestCertificateAuthority _authority = new(name);

    public X509Certificate2 Authority => _authority.Certificate;

    /// <summary>A certificate for 127.0.0.1 and localhost (or for <paramref name="names"/>), for server and client use.</summary>
    public X509Certificate2 Issue(string subject = "node", bool expired = false, IEnumerable<string>? names = null) =>
        _authority.Issue(names ?? ["127.0.0.1", "localhost"], subject, notAfter: expired ? DateTimeOffset.UtcNow.AddDays(-2) : null);

    public void Dispose() => _authority.Dispose();
}
