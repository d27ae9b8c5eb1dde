using System.Text;
using Grid.Reactive.Transport;
using Microsoft.Extensions.Options;

namespace Grid.Reactive.Hosting;

/// <summary>
/// Checks <see cref="GridOptions"/> when the host starts, naming each bad option by its configuration key
/// (<c>Grid:Remotes:1</c>) when it was bound from a section, else by its property (<c>GridOptions.Address</c>). One
/// validator per grid: it checks only its grid's options, and a named grid's errors start with its name
/// (<c>Grid 'locks': Locks:Address is required ...</c>).
/// </summary>
/// <remarks>
/// Once its grid's options passed (at start), reloads of the configuration are not checked here: a failure would be
/// thrown on the configuration's reload thread (where it can end the process) and then by every read of the options.
/// What the grid applies while it runs checks itself and keeps the last good value: <see cref="GridOptions.Secret"/>
/// and <see cref="GridOptions.PreviousSecret"/> (<see cref="ConfiguredSecretAuthenticator"/>), and a host set read
/// through <c>MembershipSources.FromOptionsMonitor</c>. Everything else is read once, at start.
/// </remarks>
internal sealed class GridOptionsValidator(GridRegistration grid, string? sectionPath) : IValidateOptions<GridOptions>
{
    private volatile bool _passed;

    public ValidateOptionsResult Validate(string? name, GridOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if ((name ?? Options.DefaultName) != grid.Name || _passed)
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>();
        var webSockets = options.Transport is null;
        var tls = options.Tls is not null;

        if (string.IsNullOrWhiteSpace(options.Address))
        {
            failures.Add($"{Key("Address")} is required: this node's address as the other nodes list it (host:port).");
        }
        else if (webSockets)
        {
            CheckAddress(failures, Key("Address"), options.Address, tls);
        }

        if (options.Remotes is null)
        {
            failures.Add($"{Key("Remotes")} is required: the addresses of the grid's nodes.");
        }
        else
        {
            for (var i = 0; i < options.Remotes.Count; i++)
            {
                var remote = options.Remotes[i];
                if (string.IsNullOrWhiteSpace(remote))
                {
                    failures.Add($"{Key($"Remotes:{i}")} is empty.");
                }
                else if (webSockets)
                {
                    CheckAddress(failures, Key($"Remotes:{i}"), remote, tls);
                }
            }
        }

        if (options.Authenticator is null)
        {
            if (string.IsNullOrEmpty(options.Secret))
            {
                failures.Add($"{Key("Secret")} is required (or set GridOptions.Authenticator in code): the grid's shared secret.");
            }
            else
            {
                CheckSecret(failures, "Secret", options.Secret);
            }

            if (!string.IsNullOrEmpty(options.PreviousSecret))
            {
                CheckSecret(failures, "PreviousSecret", options.PreviousSecret);
            }
        }

        if (string.IsNullOrEmpty(options.Path) || options.Path[0] != '/')
        {
            failures.Add($"{Key("Path")} ('{options.Path}') must start with '/'.");
        }

        if (options.MaxConnections < 1)
        {
            failures.Add($"{Key("MaxConnections")} ({options.MaxConnections}) must be at least 1.");
        }

        if (options.UpgradeTimeout < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{Key("UpgradeTimeout")} ({options.UpgradeTimeout}) must be at least 1 second.");
        }

        Positive(failures, "DefaultRequestTimeout", options.DefaultRequestTimeout);
        Positive(failures, "PingInterval", options.PingInterval);
        Positive(failures, "PingTimeout", options.PingTimeout);
        Positive(failures, "StreamPingInterval", options.StreamPingInterval);
        Positive(failures, "StreamTimeout", options.StreamTimeout);
        Positive(failures, "HandshakeTimeout", options.HandshakeTimeout);
        Positive(failures, "ReconnectInitialDelay", options.ReconnectInitialDelay);
        if (options.PingInterval > TimeSpan.Zero && options.PingTimeout < options.PingInterval)
        {
            failures.Add($"{Key("PingTimeout")} ({options.PingTimeout}) must be at least {Key("PingInterval")} ({options.PingInterval}).");
        }

        if (options.StreamPingInterval > TimeSpan.Zero && options.StreamTimeout < options.StreamPingInterval)
        {
            failures.Add($"{Key("StreamTimeout")} ({options.StreamTimeout}) must be at least {Key("StreamPingInterval")} ({options.StreamPingInterval}).");
        }

        if (options.ReconnectMaxDelay < options.ReconnectInitialDelay)
        {
            failures.Add($"{Key("ReconnectMaxDelay")} ({options.ReconnectMaxDelay}) must be at least {Key("ReconnectInitialDelay")} ({options.ReconnectInitialDelay}).");
        }

        if (options.MaxClockSkew < TimeSpan.Zero)
        {
            failures.Add($"{Key("MaxClockSkew")} ({options.MaxClockSkew}) must not be negative.");
        }

        if (options.DrainTimeout < TimeSpan.Zero)
        {
            failures.Add($"{Key("DrainTimeout")} ({options.DrainTimeout}) must not be negative.");
        }

        if (options.MaxMessageSize < 4096)
        {
            failures.Add($"{Key("MaxMessageSize")} ({options.MaxMessageSize}) must be at least 4096 bytes.");
        }

        if (options.MaxQueuedBytes < GridSetup.MergedMessageSize(options))
        {
            failures.Add($"{Key("MaxQueuedBytes")} ({options.MaxQueuedBytes}) must be at least {GridSetup.MergedMessageSize(options)} bytes (one merged message).");
        }

        if (options.MaxCallsInFlight < 1)
        {
            failures.Add($"{Key("MaxCallsInFlight")} ({options.MaxCallsInFlight}) must be at least 1.");
        }

        if (options.MaxPendingHandshakes < 1)
        {
            failures.Add($"{Key("MaxPendingHandshakes")} ({options.MaxPendingHandshakes}) must be at least 1.");
        }

        if (options.Tls is { } settings && webSockets)
        {
            CheckTls(failures, options, settings);
        }

        if (failures.Count == 0)
        {
            _passed = true;
            return ValidateOptionsResult.Success;
        }

        return ValidateOptionsResult.Fail(grid.Name.Length == 0 ? failures : failures.Select(failure => $"Grid '{grid.Name}': {failure}"));
    }

    private string Key(string property)
    {
        if (sectionPath is not null)
        {
            return sectionPath.Length == 0 ? property : $"{sectionPath}:{property}";
        }

        var name = new StringBuilder("GridOptions");
        foreach (var part in property.Split(':'))
        {
            name.Append(int.TryParse(part, out _) ? $"[{part}]" : $".{part}");
        }

        return name.ToString();
    }

    private void Positive(List<string> failures, string property, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Key(property)} ({value}) must be positive.");
        }
    }

    private static void CheckAddress(List<string> failures, string key, string address, bool tls)
    {
        try
        {
            _ = WebSocketAddress.Parse(address, tls);
        }
        catch (ArgumentException ex)
        {
            failures.Add($"{key}: {ex.Message.Split(" (Parameter", 2)[0]}");
        }
    }

    private void CheckTls(List<string> failures, GridOptions options, GridTlsSettings settings)
    {
        if (options.SelfHost && string.IsNullOrEmpty(settings.CertificatePath) && string.IsNullOrWhiteSpace(settings.CertificateThumbprint))
        {
            failures.Add($"{Key("Tls:CertificatePath")} or {Key("Tls:CertificateThumbprint")} is required for a self-hosted grid with TLS.");
        }

        if (settings.RequirePeerIdentity && !settings.RequireClientCertificate)
        {
            failures.Add($"{Key("Tls:RequirePeerIdentity")} needs {Key("Tls:RequireClientCertificate")}: identities come from client certificates.");
        }

        CheckCertificate(failures, settings, "Tls:CertificatePath", settings.CertificatePath, "Tls:CertificateThumbprint", settings.CertificateThumbprint);
        CheckCertificate(failures, settings, "Tls:ClientCertificatePath", settings.ClientCertificatePath, "Tls:ClientCertificateThumbprint", settings.ClientCertificateThumbprint);
        for (var i = 0; i < (settings.TrustedRootPaths?.Count ?? 0); i++)
        {
            CheckFile(failures, $"Tls:TrustedRootPaths:{i}", settings.TrustedRootPaths![i]);
        }
    }

    private void CheckSecret(List<string> failures, string property, string secret)
    {
        try
        {
            _ = new SharedSecretAuthenticator(Encoding.UTF8.GetBytes(secret));
        }
        catch (ArgumentException ex)
        {
            failures.Add($"{Key(property)} is not usable: {ex.Message.Split(" (Parameter", 2)[0]}");
        }
    }

    private void CheckCertificate(List<string> failures, GridTlsSettings settings, string pathKey, string? path, string thumbprintKey, string? thumbprint)
    {
        if (string.IsNullOrWhiteSpace(thumbprint))
        {
            CheckFile(failures, pathKey, path);
            return;
        }

        if (!string.IsNullOrEmpty(path))
        {
            failures.Add($"{Key(pathKey)} and {Key(thumbprintKey)} are both set; give one.");
            return;
        }

        try
        {
            GridTlsOptions.LoadFromStore(thumbprint, settings.StoreLocation, settings.StoreName).Dispose();
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            failures.Add($"{Key(thumbprintKey)}: {ex.Message}");
        }
    }

    private void CheckFile(List<string> failures, string property, string? path)
    {
        if (!string.IsNullOrEmpty(path) && !File.Exists(path))
        {
            failures.Add($"{Key(property)}: the file '{path}' does not exist.");
        }
    }
}
