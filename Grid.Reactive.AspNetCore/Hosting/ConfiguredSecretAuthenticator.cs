using System.Text;
using Grid.Reactive.Diagnostics.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Grid.Reactive;

/// <summary>
/// The authenticator of a grid configured with <see cref="GridOptions.Secret"/>: at every handshake it takes the
/// secrets the configuration holds now, so a change of secrets (a reloaded file, a rotated Kubernetes secret) applies
/// to the next handshakes without a restart. Secrets that are not usable (too short), or options that a validator of
/// the application refuses, leave the last valid secrets in use and are logged once.
/// </summary>
internal sealed class ConfiguredSecretAuthenticator : IGridAuthenticator
{
    private readonly IOptionsMonitor<GridOptions> _options;
    private readonly string _name;
    private readonly ILogger? _logger;
    private readonly Lock _gate = new();
    private GridOptions _seen;
    private SharedSecretAuthenticator _current;
    private bool _rejectionLogged;

    public ConfiguredSecretAuthenticator(IOptionsMonitor<GridOptions> options, string name, ILogger? logger)
    {
        _options = options;
        _name = name;
        _logger = logger;
        _seen = options.Get(name);
        _current = Create(_seen);
    }

    public byte[] CreateToken(HandshakeClaims claims) => Current().CreateToken(claims);

    public bool Validate(HandshakeClaims claims, ReadOnlySpan<byte> token) => Current().Validate(claims, token);

    private static SharedSecretAuthenticator Create(GridOptions options)
    {
        var secret = Encoding.UTF8.GetBytes(options.Secret ?? string.Empty);
        return string.IsNullOrEmpty(options.PreviousSecret)
            ? new SharedSecretAuthenticator(secret)
            : new SharedSecretAuthenticator(secret, Encoding.UTF8.GetBytes(options.PreviousSecret));
    }

    private SharedSecretAuthenticator Current()
    {
        GridOptions options;
        try
        {
            // Cached by the monitor until the configuration reloads; validated again then.
            options = _options.Get(_name);
        }
        catch (OptionsValidationException ex)
        {
            lock (_gate)
            {
                if (!_rejectionLogged && _logger is not null)
                {
                    ManagerLog.SecretChangeRejected(_logger, ex, GridName);
                }

                _rejectionLogged = true;
                return _current;
            }
        }

        lock (_gate)
        {
            _rejectionLogged = false;
            if (ReferenceEquals(options, _seen))
            {
                return _current;
            }

            var changed = options.Secret != _seen.Secret || options.PreviousSecret != _seen.PreviousSecret;
            _seen = options;
            if (!changed)
            {
                return _current;
            }

            try
            {
                _current = Create(options);
                if (_logger is not null)
                {
                    ManagerLog.SecretChanged(_logger, GridName, string.IsNullOrEmpty(options.PreviousSecret) ? "none" : "kept");
                }
            }
            catch (ArgumentException ex)
            {
                // Logged once: this configuration is not looked at again until it changes.
                if (_logger is not null)
                {
                    ManagerLog.SecretChangeRejected(_logger, ex, GridName);
                }
            }

            return _current;
        }
    }

    private string GridName => _name.Length == 0 ? "the grid" : $"grid '{_name}'";
}
