namespace Grid.Reactive;

/// <summary>
/// The grid node of an ASP.NET Core application, as <c>services.AddGrid(...)</c> takes it: settable, so it binds from
/// configuration (<c>"Grid": { "Address": "10.0.0.1:5000", "Remotes": [ ... ], "Secret": "..." }</c>) and from
/// <c>AddGrid(o =&gt; ...)</c>. Checked when the host starts; each missing or bad option is named in the error.
/// Defaults are the core's (<see cref="ManagerOptions"/>).
/// </summary>
public sealed class GridOptions
{
    private static readonly ManagerOptions CoreDefaults = new()
    {
        Address = "-",
        Remotes = [],
        Transport = null!,
        Authenticator = null!,
    };

    /// <summary>This node's address as the other nodes list it: <c>host:port</c>. Required. The application must listen there.</summary>
    public string Address { get; set; } = string.Empty;

    /// <summary>The addresses of every node of the grid; may include <see cref="Address"/>, so all nodes share one list.</summary>
    public IList<string> Remotes { get; set; } = [];

    /// <summary>
    /// The grid's shared secret (its UTF-8 bytes, at least 16), from which each node proves itself to the others.
    /// Required unless <see cref="Authenticator"/> is set. Keep it out of source control (user secrets, environment).
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>
    /// The secret being retired during a change of secrets, or null: the node proves itself with both and accepts
    /// either (see <see cref="SharedSecretAuthenticator"/>). When the configuration reloads, a changed
    /// <see cref="Secret"/> or <see cref="PreviousSecret"/> applies to the next handshakes without a restart; links
    /// already open stay.
    /// </summary>
    public string? PreviousSecret { get; set; }

    /// <summary>Code only: an authenticator used instead of <see cref="Secret"/>.</summary>
    public IGridAuthenticator? Authenticator { get; set; }

    /// <summary>The HTTP path of grid links on every node. Default <c>/grid/v1</c>; must start with <c>/</c>.</summary>
    public string Path { get; set; } = "/grid/v1";

    /// <summary>
    /// False (the default): the application serves the grid on its own Kestrel endpoints through <c>app.MapGrid()</c>.
    /// True: the grid runs a Kestrel server of its own at <see cref="Address"/> (a port apart from the application's).
    /// </summary>
    public bool SelfHost { get; set; }

    /// <summary>
    /// With <see cref="SelfHost"/>: see <see cref="WebSocketTransportOptions.MaxConnections"/>. Default 4096, or less
    /// where the process's open-file limit is low.
    /// </summary>
    public int MaxConnections { get; set; } = OpenFileLimit.DefaultMaxConnections;

    /// <summary>With <see cref="SelfHost"/>: see <see cref="WebSocketTransportOptions.UpgradeTimeout"/>. Default 10 s.</summary>
    public TimeSpan UpgradeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS from certificate files; null for plain <c>ws://</c>.</summary>
    public GridTlsSettings? Tls { get; set; }

    /// <summary>Code only: a transport used instead of the WebSocket one built from these options (an <see cref="InMemoryNetwork"/> in tests).</summary>
    public GridTransport? Transport { get; set; }

    /// <summary>
    /// When the host stops, how long the grid waits for calls and streams in flight to finish before it closes its
    /// links (see <see cref="Manager.StopAsync"/>). The grid stops before Kestrel, so its long-lived requests never
    /// hold the host's shutdown. Default 5 seconds; zero stops at once.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>See <see cref="ManagerOptions.DefaultRequestTimeout"/>.</summary>
    public TimeSpan DefaultRequestTimeout { get; set; } = CoreDefaults.DefaultRequestTimeout;

    /// <summary>See <see cref="ManagerOptions.PingInterval"/>.</summary>
    public TimeSpan PingInterval { get; set; } = CoreDefaults.PingInterval;

    /// <summary>See <see cref="ManagerOptions.PingTimeout"/>.</summary>
    public TimeSpan PingTimeout { get; set; } = CoreDefaults.PingTimeout;

    /// <summary>See <see cref="ManagerOptions.StreamPingInterval"/>.</summary>
    public TimeSpan StreamPingInterval { get; set; } = CoreDefaults.StreamPingInterval;

    /// <summary>See <see cref="ManagerOptions.StreamTimeout"/>.</summary>
    public TimeSpan StreamTimeout { get; set; } = CoreDefaults.StreamTimeout;

    /// <summary>See <see cref="ManagerOptions.HandshakeTimeout"/>.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = CoreDefaults.HandshakeTimeout;

    /// <summary>See <see cref="ManagerOptions.MaxClockSkew"/>.</summary>
    public TimeSpan MaxClockSkew { get; set; } = CoreDefaults.MaxClockSkew;

    /// <summary>First wait before a redial (see <see cref="ReconnectPolicy.InitialDelay"/>).</summary>
    public TimeSpan ReconnectInitialDelay { get; set; } = CoreDefaults.Reconnect.InitialDelay;

    /// <summary>Longest wait between redials (see <see cref="ReconnectPolicy.MaxDelay"/>).</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = CoreDefaults.Reconnect.MaxDelay;

    /// <summary>See <see cref="ManagerOptions.MaxMessageSize"/>; at least 4096.</summary>
    public int MaxMessageSize { get; set; } = CoreDefaults.MaxMessageSize;

    /// <summary>See <see cref="ManagerOptions.MaxQueuedBytes"/>.</summary>
    public long MaxQueuedBytes { get; set; } = CoreDefaults.MaxQueuedBytes;

    /// <summary>See <see cref="ManagerOptions.MaxCallsInFlight"/>.</summary>
    public int MaxCallsInFlight { get; set; } = CoreDefaults.MaxCallsInFlight;

    /// <summary>See <see cref="ManagerOptions.MaxPendingHandshakes"/>.</summary>
    public int MaxPendingHandshakes { get; set; } = CoreDefaults.MaxPendingHandshakes;

    /// <summary>See <see cref="ManagerOptions.Checksums"/>.</summary>
    public bool Checksums { get; set; }

    /// <summary>
    /// Code only: a last change to the core options built from these (for settings this class does not carry, such
    /// as a scheduler), for example <c>o.ConfigureManager = m =&gt; m with { Scheduler = myScheduler }</c>.
    /// </summary>
    public Func<ManagerOptions, ManagerOptions>? ConfigureManager { get; set; }
}
