using System.Globalization;

namespace Grid.Reactive;

/// <summary>
/// The default of <see cref="WebSocketTransportOptions.MaxConnections"/>: 4096, or less where the process may open
/// fewer files, so that by default a flood of sockets cannot reach the limit at which the runtime stops the process.
/// </summary>
internal static class OpenFileLimit
{
    /// <summary>The default where the limit is unknown or high.</summary>
    public const int Ceiling = 4096;

    /// <summary>Open files left to the rest of the process (assemblies, logs, outgoing links, the application's own).</summary>
    public const int Reserve = 256;

    /// <summary>The smallest default, whatever the limit.</summary>
    public const int Floor = 16;

    /// <summary>The default for this process, read once (Linux: <c>/proc/self/limits</c>; elsewhere <see cref="Ceiling"/>).</summary>
    public static int DefaultMaxConnections { get; } = DefaultFor(ReadSoftLimit());

    /// <summary>
    /// Half of what <paramref name="softLimit"/> leaves after <see cref="Reserve"/> (the listener holds up to
    /// MaxConnections sockets before their upgrade and as many links), between <see cref="Floor"/> and <see cref="Ceiling"/>.
    /// </summary>
    public static int DefaultFor(long? softLimit) =>
        softLimit is not { } limit ? Ceiling : (int)Math.Clamp((limit - Reserve) / 2, Floor, Ceiling);

    /// <summary>The soft "Max open files" of a <c>/proc/self/limits</c> text, or null (absent, or "unlimited").</summary>
    public static long? Parse(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
            }
        }

        return null;
    }

    private static long? ReadSoftLimit()
    {
        try
        {
            return OperatingSystem.IsLinux() ? Parse(File.ReadAllText("/proc/self/limits")) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
