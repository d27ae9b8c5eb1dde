using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grid.Reactive.Diagnostics.Logging;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive;

/// <summary>
/// A certificate in a PKCS#12 (.pfx) file that is renewed in place (by cert-manager, certbot or a deployment):
/// <see cref="Current"/> is the certificate the file holds now, read again whenever the file changed since the last
/// look. Give <c>() =&gt; file.Current</c> to <see cref="GridTlsOptions.ServerCertificateSelector"/> or
/// <see cref="GridTlsOptions.ClientCertificateSelector"/>, and links made after a renewal use the new certificate
/// without a restart (links already open keep theirs).
/// </summary>
/// <remarks>
/// A look costs one file status call and a short lock; it happens once per TLS handshake or dial, not per message. A file that
/// cannot be read (half written, a wrong password) leaves <see cref="Current"/> at the last certificate that loaded
/// and is tried again when it changes; <see cref="LastError"/> says what went wrong. Replaced certificates are not
/// disposed (links may still use them); the garbage collector releases them.
/// </remarks>
public sealed class CertificateFile
{
    private readonly string _path;
    private readonly string? _password;
    private readonly ILogger? _logger;
    private readonly Lock _gate = new();
    private X509Certificate2 _current;
    private (DateTime Written, long Length) _seen;
    private volatile Exception? _lastError;

    /// <summary>Loads the certificate in <paramref name="path"/> now.</summary>
    /// <param name="path">The PKCS#12 file, with the private key.</param>
    /// <param name="password">Its password, or null.</param>
    /// <param name="logger">
    /// Told of each reload (Information, EventId 4003) and each change that could not be loaded (Warning, 4004); null
    /// for none.
    /// </param>
    /// <exception cref="CryptographicException">
    /// The file is missing, cannot be read, or is not a PKCS#12 file this password opens; the message names the file.
    /// </exception>
    public CertificateFile(string path, string? password = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
        _password = password;
        _logger = logger;
        _seen = Stamp();
        _current = Load();
    }

    /// <summary>The file's path.</summary>
    public string Path => _path;

    /// <summary>The certificate the file holds, read again first if the file changed since the last look.</summary>
    public X509Certificate2 Current
    {
        get
        {
            var stamp = Stamp();
            lock (_gate)
            {
                if (stamp != _seen)
                {
                    _seen = stamp;
                    try
                    {
                        _current = Load();
                        _lastError = null;
                        if (_logger is not null)
                        {
                            TransportLog.CertificateReloaded(_logger, _path, _current.Subject, _current.Thumbprint, _current.NotAfter.ToUniversalTime());
                        }
                    }
                    catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
                    {
                        _lastError = ex;
                        if (_logger is not null)
                        {
                            TransportLog.CertificateReloadFailed(_logger, ex, _path, _current.Thumbprint);
                        }
                    }
                }

                return _current;
            }
        }
    }

    /// <summary>Why the file's latest content could not be loaded (the previous certificate is still in use); null when it loaded.</summary>
    public Exception? LastError => _lastError;

    private X509Certificate2 Load()
    {
        try
        {
            return GridTlsOptions.LoadPfx(_path, _password);
        }
        catch (CryptographicException ex)
        {
            // The runtime's own message is "Error occurred during a cryptographic operation" even for a missing file.
            throw new CryptographicException($"The certificate file {_path} cannot be loaded: {(ex.InnerException ?? ex).Message}", ex);
        }
    }

    private (DateTime Written, long Length) Stamp()
    {
        var file = new FileInfo(_path);
        return file.Exists ? (file.LastWriteTimeUtc, file.Length) : (DateTime.MinValue, -1);
    }
}
