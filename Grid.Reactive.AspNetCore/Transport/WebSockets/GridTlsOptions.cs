using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Grid.Reactive;

/// <summary>
/// TLS for <see cref="WebSocketTransport"/>: with it, a node listens on HTTPS and dials <c>wss://</c>, validating the
/// peer's certificate against the system's trust or pinned roots; mutual TLS makes each side prove itself with a
/// certificate too.
/// </summary>
/// <remarks>
/// Certificates are checked on both sides: the chain (against <see cref="TrustedRoots"/> when given, else the system
/// store), the validity period, and on the dialer the server's name (the host of the address dialed, as a DNS name or
/// an IP address in the certificate's subject alternative names). Revocation is not checked.
/// </remarks>
public sealed class GridTlsOptions
{
    /// <summary>
    /// This node's server certificate, with its private key: a self-hosted listener needs it or
    /// <see cref="ServerCertificateSelector"/>.
    /// </summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>A certificate this node presents when it dials (mutual TLS), with its private key; null for none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>
    /// Picks this node's server certificate afresh for each TLS handshake of the self-hosted listener, instead of
    /// <see cref="ServerCertificate"/>: a renewed certificate (for one kept in a file, see <see cref="CertificateFile"/>)
    /// serves every link made after the renewal, without a restart. A selector that throws fails that one handshake.
    /// Null: <see cref="ServerCertificate"/>.
    /// </summary>
    public Func<X509Certificate2>? ServerCertificateSelector { get; init; }

    /// <summary>
    /// Picks the certificate this node presents for each dial (mutual TLS), instead of <see cref="ClientCertificate"/>;
    /// null from it, or no selector, means <see cref="ClientCertificate"/>. A selector that throws fails that dial (the
    /// connection redials with backoff).
    /// </summary>
    public Func<X509Certificate2?>? ClientCertificateSelector { get; init; }

    /// <summary>
    /// True: a dialer must present a client certificate that validates (as above), or its link is refused. For a
    /// hosted grid (<see cref="GridEndpoints.MapGrid"/>) the application's Kestrel must ask for client certificates
    /// (<c>ClientCertificateMode</c>); the grid endpoint then refuses requests without a valid one. Default false.
    /// </summary>
    public bool RequireClientCertificate { get; init; }

    /// <summary>
    /// True: a dialer's client certificate must also name the host of the address it claims in the grid's handshake
    /// (a DNS name or IP address in its subject alternative names, a wildcard <c>*.example.com</c> for one label), so
    /// a member holding the secret and a certificate of the cluster's CA cannot pose as another node. The handshake is
    /// refused as <c>identity</c> otherwise. Needs <see cref="RequireClientCertificate"/>. The dialer's own check of
    /// the acceptor's name is TLS's (the server certificate must name the host dialed). Default false.
    /// </summary>
    public bool RequirePeerIdentity { get; init; }

    /// <summary>
    /// Pinned roots: when not empty, a peer's certificate must chain to one of these, and the system store is not
    /// used (a private cluster CA). Empty: the system's trust.
    /// </summary>
    public IReadOnlyCollection<X509Certificate2> TrustedRoots { get; init; } = [];

    /// <summary>
    /// Replaces the built-in check of the server's certificate on the dialer (return true to accept), for pinning by
    /// thumbprint or any other rule. Null: the built-in check.
    /// </summary>
    public RemoteCertificateValidationCallback? ValidateServerCertificate { get; init; }

    /// <summary>Replaces the built-in check of a dialer's client certificate on the acceptor. Null: the built-in check.</summary>
    public Func<X509Certificate2, X509Chain?, SslPolicyErrors, bool>? ValidateClientCertificate { get; init; }

    /// <summary>
    /// True (the default): both proofs of the grid's handshake also cover the SHA-256 hash of the acceptor's TLS server
    /// certificate as each side saw it (RFC 5929 <c>tls-server-end-point</c> style), so a handshake relayed through a
    /// TLS-terminating man in the middle, which must present its own certificate, is refused. Both sides must agree:
    /// turn it off on every node to run the grid behind a TLS-terminating proxy you trust. An acceptor that cannot
    /// know the certificate its server presented (neither Kestrel's connection nor <see cref="ServerCertificate"/>
    /// tells it) has no binding, so dialers with binding on are refused by it.
    /// </summary>
    public bool ChannelBinding { get; init; } = true;

    /// <summary>Loads a PKCS#12 (.pfx) file with its private key, for <see cref="ServerCertificate"/> or <see cref="ClientCertificate"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="password">Its password, or null.</param>
    /// <returns>The certificate.</returns>
    public static X509Certificate2 LoadPfx(string path, string? password = null) =>
        X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);

    /// <summary>
    /// Loads a certificate with its private key from a certificate store by its thumbprint, for
    /// <see cref="ServerCertificate"/> or <see cref="ClientCertificate"/>. On Linux the CurrentUser stores live under
    /// the user's <c>~/.dotnet/corefx/cryptography/x509stores</c>; LocalMachine\My is not available there.
    /// </summary>
    /// <param name="thumbprint">The certificate's SHA-1 thumbprint (hex; spaces and case do not matter).</param>
    /// <param name="location">The store's location.</param>
    /// <param name="name">The store.</param>
    /// <returns>The certificate.</returns>
    /// <exception cref="ArgumentException">The thumbprint is empty.</exception>
    /// <exception cref="InvalidOperationException">The store has no such certificate, or it has no private key.</exception>
    public static X509Certificate2 LoadFromStore(string thumbprint, StoreLocation location = StoreLocation.CurrentUser, StoreName name = StoreName.My)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(thumbprint);
        var wanted = thumbprint.Replace(" ", string.Empty, StringComparison.Ordinal);
        using var store = new X509Store(name, location);
        store.Open(OpenFlags.ReadOnly);
        var all = store.Certificates;
        var found = all.Find(X509FindType.FindByThumbprint, wanted, validOnly: false);
        var certificate = found.Count > 0 ? found[0] : null;
        foreach (var other in all.Concat(found).Where(c => !ReferenceEquals(c, certificate)))
        {
            other.Dispose();
        }

        if (certificate is null)
        {
            throw new InvalidOperationException($"The store {location}\\{name} has no certificate with thumbprint {wanted}.");
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new InvalidOperationException($"The certificate {wanted} in {location}\\{name} has no private key; a grid node needs it to serve or present the certificate.");
        }

        return certificate;
    }

    /// <summary>The channel binding of a server certificate: the SHA-256 hash of its DER encoding.</summary>
    internal static byte[] BindingOf(X509Certificate certificate) => SHA256.HashData(certificate.GetRawCertData());

    /// <summary>The built-in check: the chain against the pinned roots (or the system), dates, and the name when asked.</summary>
    internal bool Accepts(X509Certificate2 certificate, SslPolicyErrors errors, bool checkName)
    {
        if (checkName && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        if (TrustedRoots.Count == 0)
        {
            return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (var root in TrustedRoots)
        {
            chain.ChainPolicy.CustomTrustStore.Add(root);
        }

        return chain.Build(certificate);
    }
}
