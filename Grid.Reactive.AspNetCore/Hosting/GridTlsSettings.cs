using System.Security.Cryptography.X509Certificates;

namespace Grid.Reactive;

/// <summary>
/// TLS for a grid configured by <see cref="GridOptions"/>, from certificate files or a certificate store (bindable from
/// configuration). Each certificate comes from a file or from the store by thumbprint, not both. For a
/// grid served by the application (<c>MapGrid</c>), the application's Kestrel must listen on HTTPS itself; these
/// settings then serve the dialer and the check of client certificates.
/// </summary>
public sealed class GridTlsSettings
{
    /// <summary>A PKCS#12 (.pfx) file with this node's server certificate and key; required for a self-hosted grid.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>, or null.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>A PKCS#12 (.pfx) file with the certificate this node presents when it dials (mutual TLS), or null.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>The password of <see cref="ClientCertificatePath"/>, or null.</summary>
    public string? ClientCertificatePassword { get; set; }

    /// <summary>
    /// True (the default): certificates given by path are read again when their file changes, so a renewal written
    /// over the file serves new links without a restart (see <see cref="CertificateFile"/>). False: read once at start.
    /// </summary>
    public bool ReloadOnChange { get; set; } = true;

    /// <summary>
    /// The thumbprint of this node's server certificate in <see cref="StoreLocation"/>\<see cref="StoreName"/> (see
    /// <see cref="GridTlsOptions.LoadFromStore"/>), instead of <see cref="CertificatePath"/>.
    /// </summary>
    public string? CertificateThumbprint { get; set; }

    /// <summary>The thumbprint of the certificate this node presents when it dials, in the store, instead of <see cref="ClientCertificatePath"/>.</summary>
    public string? ClientCertificateThumbprint { get; set; }

    /// <summary>Where the thumbprints are looked up: <c>CurrentUser</c> (the default) or <c>LocalMachine</c>.</summary>
    public StoreLocation StoreLocation { get; set; } = StoreLocation.CurrentUser;

    /// <summary>The store the thumbprints are looked up in; <c>My</c> (personal certificates) by default.</summary>
    public StoreName StoreName { get; set; } = StoreName.My;

    /// <summary>True: a dialer must present a valid client certificate (see <see cref="GridTlsOptions.RequireClientCertificate"/>).</summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>True: a dialer's client certificate must name the host it claims (see <see cref="GridTlsOptions.RequirePeerIdentity"/>).</summary>
    public bool RequirePeerIdentity { get; set; }

    /// <summary>Binds the handshake to the TLS server certificate (see <see cref="GridTlsOptions.ChannelBinding"/>). Default true.</summary>
    public bool ChannelBinding { get; set; } = true;

    /// <summary>Pinned root certificates (PEM or DER files); empty for the system's trust.</summary>
    public IList<string> TrustedRootPaths { get; set; } = [];
}
