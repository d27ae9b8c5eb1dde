using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Security;

/// <summary>The Testing package's throwaway CA: what it issues chains to it, names what was asked, and serves TLS both ways.</summary>
public sealed class TestCertificateAuthorityTests
{
    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        return chain.Build(certificate);
    }

    [Test]
    public void AnIssuedCertificate_ChainsToTheAuthority_NamesWhatWasAsked_AndHasItsKey()
    {
        using var authority = new TestCertificateAuthority("Unit CA");
        using var other = new TestCertificateAuthority("Other CA");
        using var certificate = authority.Issue(["10.0.0.7", "[::1]", "node-7.cluster.test"]);

        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.That(names.EnumerateDnsNames(), Is.EqualTo(new[] { "node-7.cluster.test" }));
        Assert.That(names.EnumerateIPAddresses().Select(ip => ip.ToString()), Is.EqualTo(new[] { "10.0.0.7", "::1" }));
        Assert.That(certificate.Subject, Is.EqualTo("CN=10.0.0.7"));
        Assert.That(certificate.HasPrivateKey, Is.True);
        Assert.That(certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value),
            Is.EquivalentTo(new[] { "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2" }), "server and client authentication");
        Assert.That(ChainsTo(certificate, authority.Certificate), Is.True);
        Assert.That(ChainsTo(certificate, other.Certificate), Is.False);
    }

    [Test]
    public void AnEndInThePast_MakesAnExpiredCertificate()
    {
        using var authority = new TestCertificateAuthority();
        using var expired = authority.Issue(["localhost"], "old", notAfter: DateTimeOffset.UtcNow.AddDays(-2));

        Assert.That(expired.NotAfter, Is.LessThan(DateTime.Now));
        Assert.That(expired.NotBefore, Is.LessThan(expired.NotAfter));
        Assert.That(ChainsTo(expired, authority.Certificate), Is.False);
    }

    [Test]
    public void NoNamesOrABlankOne_AreRefused()
    {
        using var authority = new TestCertificateAuthority();
        Assert.That(() => authority.Issue([]), Throws.ArgumentException.With.Message.StartsWith("A certificate needs at least one name"));
        Assert.That(() => authority.Issue(["localhost", " "]), Throws.ArgumentException);
    }
}
