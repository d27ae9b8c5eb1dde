using System.Text;
using Grid.Reactive.Diagnostics.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Grid.Reactive;

/// <summary>
/// The authenticator of a grid configured with <see cref="GridOptions.Secret"/>: when the configuration reloads with
/// other secrets (a rotated Kubernetes secret, an edited file), the next handshakes use them, without a restart.
/// Secrets that are not usable (too short) leave the last valid ones in use and are logged.
/// </summary>
/// <remarks>
/// The change is applied on the configuration's reload thread (<see cref="IOptionsMonitor{TOptions}.OnChange"/>); a
/// handshake only reads the current authenticator, so no configuration code runs on the grid's own threads. It lives
/// as long as the options monitor (the application's service provider).
/// </remarks>
internal sealed class ConfiguredSecretAuthenticator : IGridAuthenticator
{
    private readonly string _name;
    private readonly ILogger? _logger;
    private readonly Lock _gate = new();
    private (string? Secret, string? Previous) _seen;
    private volatile SharedSecretAuthenticator _current;

    public ConfiguredSecretAuthenticator(IOptionsMonitor<GridOptions> monitor, string name, GridOptions options, ILogger? logger)
    {
        _name = name;
        _logger = logger;
        _seen = (options.Secret, options.PreviousSecret);
        _current = Create(options);
        monitor.OnChange((changed, changedName) =>
        {
            if ((changedName ?? Options.DefaultName) == _name)
            {
                Apply(changed);
            }
        });
    }

    public byte[] CreateToken(HandshakeClaims claims) => _current.CreateToken(claims);

    public bool Validate(HandshakeClaims claims, ReadOnlySpan<byte> token) => _current.Validate(claims, token);

    private static SharedSecretAuthenticator Create(GridOptions options)
    {
        var secret = Encoding.UTF8.GetBytes(options.Secret ?? string.Empty);
        return string.IsNullOrEmpty(options.PreviousSecret)
            ? new SharedSecretAuthenticator(secret)
            : new SharedSecretAuthenticator(secret, Encoding.UTF8.GetBytes(options.PreviousSecret));
    }

    private void Apply(GridOptions options)
    {
        lock (_gate)
        {
            if ((options.Secret, options.PreviousSecret) == _seen)
            {
                return;
            }

            _seen = (options.Secret, options.PreviousSecret);
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
                if (_logger is not null)
                {
                    ManagerLog.SecretChangeRejected(_logger, ex, GridName);
                }
            }
        }
    }

    private string GridName => _name.Length == 0 ? "the grid" : $"grid '{_name}'";
}
