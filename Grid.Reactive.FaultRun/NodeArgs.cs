using System.Globalization;

namespace Grid.Reactive.FaultRun;

/// <summary>The command line of one process: which node it is, the whole grid, and the load's shape.</summary>
internal sealed record NodeArgs
{
    public required string Role { get; init; }
    public required string Address { get; init; }
    public required IReadOnlyList<string> Nodes { get; init; }
    public string Secret { get; init; } = "faultrun-shared-secret-0123456789";
    public int Concurrency { get; init; } = 4;                       // calls in flight per peer
    public TimeSpan Think { get; init; } = TimeSpan.Zero;             // pause after each successful call, per worker
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(3);   // a call not ended by deadline + grace is hung
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan ReportEvery { get; init; } = TimeSpan.FromSeconds(5);
    public int StreamEvery { get; init; } = 10;                      // one call in N is a stream
    public int StreamMessages { get; init; } = 20;
    public int? MaxConnections { get; init; }                         // the listener's bound on sockets; null: the transport's default
    public int CorruptEvery { get; init; }                            // serve: flip a byte in every Nth answer (checks the checker)
    public string? Books { get; init; }                              // where the load node writes its JSON books
    public string? Faults { get; init; }                             // the fault log the script appends to
    public string? Ready { get; init; }                              // a file the load node creates once connected
    public string? Control { get; init; }                            // the relay's latency table
    public string? Listen { get; init; }                             // the relay's listening IP
    public string? TlsDir { get; init; }                             // wss with mutual TLS from the certificates here (certs: written here)

    public static NodeArgs Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' pairs, got '{args[i]}'.");
            }

            values[args[i][2..]] = args[++i];
        }

        string Get(string name) => values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required.");
        string? Opt(string name) => values.GetValueOrDefault(name);
        TimeSpan Time(string name, TimeSpan fallback) => Opt(name) is { } v ? ParseTime(v) : fallback;
        int Int(string name, int fallback) => Opt(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        var defaults = new NodeArgs { Role = "", Address = "", Nodes = [] };
        var role = Get("role");
        return new NodeArgs
        {
            Role = role,
            Address = role is "relay" or "check" or "certs" ? "" : Get("address"),
            Nodes = (role == "check" ? "" : Get("nodes")).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Secret = Opt("secret") ?? defaults.Secret,
            Concurrency = Int("concurrency", defaults.Concurrency),
            Think = Time("think", defaults.Think),
            Deadline = Time("deadline", defaults.Deadline),
            Grace = Time("grace", defaults.Grace),
            PingInterval = Time("ping-interval", defaults.PingInterval),
            PingTimeout = Time("ping-timeout", defaults.PingTimeout),
            ReportEvery = Time("report-every", defaults.ReportEvery),
            StreamEvery = Int("stream-every", defaults.StreamEvery),
            StreamMessages = Int("stream-messages", defaults.StreamMessages),
            MaxConnections = Opt("max-connections") is null ? null : Int("max-connections", 0),
            CorruptEvery = Int("corrupt-every", 0),
            Books = Opt("books"),
            Faults = Opt("faults"),
            Ready = Opt("ready"),
            Control = Opt("control"),
            Listen = Opt("listen"),
            TlsDir = role == "certs" ? Get("tls-dir") : Opt("tls-dir"),
        };
    }

    /// <summary>"250ms", "2s", "1.5s" or a bare number of milliseconds.</summary>
    public static TimeSpan ParseTime(string value) =>
        value.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(double.Parse(value[..^2], CultureInfo.InvariantCulture))
        : value.EndsWith('s') ? TimeSpan.FromSeconds(double.Parse(value[..^1], CultureInfo.InvariantCulture))
        : TimeSpan.FromMilliseconds(double.Parse(value, CultureInfo.InvariantCulture));
}
