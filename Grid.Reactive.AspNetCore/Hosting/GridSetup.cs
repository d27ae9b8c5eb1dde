using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Grid.Reactive.Hosting;

/// <summary>Builds the core's transport and <see cref="ManagerOptions"/> from validated <see cref="GridOptions"/>.</summary>
internal static class GridSetup
{
    /// <summary>The core's merged-message size, kept within a smaller <see cref="GridOptions.MaxMessageSize"/>.</summary>
    public static int MergedMessageSize(GridOptions options) => Math.Min(64 * 1024, Math.Max(256, options.MaxMessageSize));

    /// <summary>The options of the grid named <paramref name="name"/> (empty: the unnamed grid).</summary>
    public static GridOptions Options(IServiceProvider provider, string name) =>
        provider.GetRequiredService<IOptionsMonitor<GridOptions>>().Get(name);

    /// <summary>The grid's manager, with the handlers added for that grid registered on it.</summary>
    public static Manager CreateManager(IServiceProvider provider, string name, GridTransport transport)
    {
        var options = Options(provider, name);
        var loggers = LoggerFactory(provider, name);
        var authenticator = options.Authenticator ?? new ConfiguredSecretAuthenticator(
            provider.GetRequiredService<IOptionsMonitor<GridOptions>>(), name, options, loggers?.CreateLogger(GridDiagnostics.LogCategoryPrefix + ".Manager"));
        var manager = new Manager(CreateManagerOptions(options, transport, loggers, authenticator));
        foreach (var registration in provider.GetServices<GridHandlerRegistration>())
        {
            if (registration.Grid == name)
            {
                registration.Register(manager, provider);
            }
        }

        return manager;
    }

    public static GridTransport CreateTransport(GridOptions options, ILogger? transportLog) =>
        options.Transport ?? new WebSocketTransport(new WebSocketTransportOptions
        {
            Path = options.Path,
            SelfHost = options.SelfHost,
            MaxConnections = options.MaxConnections,
            UpgradeTimeout = options.UpgradeTimeout,
            Tls = options.Tls is { } tls ? LoadTls(tls, transportLog) : null,
        });

    /// <summary>The application's logger for the grid's transport category (with the grid's scope for a named grid), or null.</summary>
    public static ILogger? TransportLogger(IServiceProvider provider, string name) =>
        LoggerFactory(provider, name)?.CreateLogger(GridDiagnostics.LogCategoryPrefix + ".Transport");

    /// <summary>The application's logger factory; for a named grid, one that adds the scope <c>Grid</c> = its name.</summary>
    private static ILoggerFactory? LoggerFactory(IServiceProvider provider, string name)
    {
        var loggers = provider.GetService<ILoggerFactory>();
        return loggers is not null && name.Length > 0 ? new GridNameLoggerFactory(loggers, name) : loggers;
    }

    public static ManagerOptions CreateManagerOptions(GridOptions options, GridTransport transport, ILoggerFactory? loggerFactory, IGridAuthenticator authenticator)
    {
        var core = new ManagerOptions
        {
            Address = options.Address,
            Remotes = [.. options.Remotes],
            Transport = transport,
            Authenticator = authenticator,
            DefaultRequestTimeout = options.DefaultRequestTimeout,
            PingInterval = options.PingInterval,
            PingTimeout = options.PingTimeout,
            StreamPingInterval = options.StreamPingInterval,
            StreamTimeout = options.StreamTimeout,
            HandshakeTimeout = options.HandshakeTimeout,
            MaxClockSkew = options.MaxClockSkew,
            Reconnect = new ReconnectPolicy { InitialDelay = options.ReconnectInitialDelay, MaxDelay = options.ReconnectMaxDelay },
            MaxMessageSize = options.MaxMessageSize,
            MaxMergedMessageSize = MergedMessageSize(options),
            MaxQueuedBytes = options.MaxQueuedBytes,
            MaxCallsInFlight = options.MaxCallsInFlight,
            MaxPendingHandshakes = options.MaxPendingHandshakes,
            Checksums = options.Checksums,
            LoggerFactory = loggerFactory,
        };
        return options.ConfigureManager is { } configure ? configure(core) : core;
    }

    private static GridTlsOptions LoadTls(GridTlsSettings settings, ILogger? log)
    {
        var serverFile = Watched(settings, settings.CertificatePath, settings.CertificatePassword, log);
        var clientFile = Watched(settings, settings.ClientCertificatePath, settings.ClientCertificatePassword, log);
        return new GridTlsOptions
        {
            ServerCertificate = serverFile?.Current ?? LoadCertificate(settings, settings.CertificatePath, settings.CertificatePassword, settings.CertificateThumbprint),
            ServerCertificateSelector = serverFile is null ? null : () => serverFile.Current,
            ClientCertificate = clientFile?.Current ?? LoadCertificate(settings, settings.ClientCertificatePath, settings.ClientCertificatePassword, settings.ClientCertificateThumbprint),
            ClientCertificateSelector = clientFile is null ? null : () => clientFile.Current,
            RequireClientCertificate = settings.RequireClientCertificate,
            RequirePeerIdentity = settings.RequirePeerIdentity,
            ChannelBinding = settings.ChannelBinding,
            TrustedRoots = [.. (settings.TrustedRootPaths ?? []).Select(X509CertificateLoader.LoadCertificateFromFile)],
        };
    }

    private static CertificateFile? Watched(GridTlsSettings settings, string? path, string? password, ILogger? log) =>
        settings.ReloadOnChange && !string.IsNullOrEmpty(path) ? new CertificateFile(path, password, log) : null;

    private static X509Certificate2? LoadCertificate(GridTlsSettings settings, string? path, string? password, string? thumbprint) =>
        !string.IsNullOrEmpty(path) ? GridTlsOptions.LoadPfx(path, password)
        : !string.IsNullOrWhiteSpace(thumbprint) ? GridTlsOptions.LoadFromStore(thumbprint, settings.StoreLocation, settings.StoreName)
        : null;
}
