using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Grid.Reactive.Hosting;

/// <summary>
/// Reports how many of the grid's peers are connected, and for each of the others its state and the reason it is not
/// connected (<see cref="Connection.LastError"/>). A named grid's description starts with its name.
/// </summary>
internal sealed class GridHealthCheck(Manager manager, GridHealthCheckOptions options, string grid) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var peers = manager.Connections.OrderBy(c => c.RemoteAddress, StringComparer.Ordinal).ToList();
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var down = new List<string>();
        foreach (var peer in peers)
        {
            var state = peer.State;
            if (state == ConnectionState.Connected)
            {
                data[peer.RemoteAddress] = "Connected";
                continue;
            }

            var reason = peer.LastError?.Message ?? "no error recorded yet";
            var line = $"{state}: {reason}";
            data[peer.RemoteAddress] = line;
            down.Add($"{peer.RemoteAddress} {line}");
        }

        var connected = peers.Count - down.Count;
        var description = (grid.Length == 0 ? string.Empty : $"Grid '{grid}': ") + $"{connected} of {peers.Count} peers connected" + (down.Count == 0 ? "." : "; " + string.Join("; ", down));
        var unhealthyAt = options.UnhealthyWhenDisconnected ?? peers.Count;
        var status = down.Count == 0 ? HealthStatus.Healthy
            : down.Count >= unhealthyAt ? context.Registration.FailureStatus
            : down.Count >= options.DegradedWhenDisconnected ? HealthStatus.Degraded
            : HealthStatus.Healthy;
        return Task.FromResult(new HealthCheckResult(status, description, data: data));
    }
}
