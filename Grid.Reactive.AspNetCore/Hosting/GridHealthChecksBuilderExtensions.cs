using Grid.Reactive;
using Grid.Reactive.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds health checks of the application's grids.</summary>
public static class GridHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the grid added with <c>services.AddGrid(...)</c>: healthy while every peer is connected,
    /// degraded or unhealthy by the thresholds of <see cref="GridHealthCheckOptions"/>. The description and data name
    /// each peer not connected with its state and the reason (the last error of its connection).
    /// </summary>
    /// <param name="builder">The application's health checks.</param>
    /// <param name="configure">Sets the thresholds; defaults when null.</param>
    /// <param name="name">The check's name. Default <c>grid</c>.</param>
    /// <param name="failureStatus">The status reported past the unhealthy threshold; <c>Unhealthy</c> when null.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHealthChecksBuilder AddGrid(this IHealthChecksBuilder builder, Action<GridHealthCheckOptions>? configure = null,
        string name = "grid", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Thresholds(configure);
        return builder.Add(new HealthCheckRegistration(name, provider =>
            new GridHealthCheck(provider.GetRequiredService<Manager>(), options, string.Empty), failureStatus, tags));
    }

    /// <summary>
    /// Adds a check of the named grid added with <c>services.AddGrid(grid, ...)</c>, as
    /// <see cref="AddGrid(IHealthChecksBuilder, Action{GridHealthCheckOptions}?, string, HealthStatus?, IEnumerable{string}?)"/>
    /// does for the unnamed one, with thresholds of its own; its description starts with the grid's name
    /// (<c>Grid 'locks': 2 of 2 peers connected.</c>).
    /// </summary>
    /// <param name="builder">The application's health checks.</param>
    /// <param name="grid">The grid's name, as given to <c>AddGrid</c>.</param>
    /// <param name="configure">Sets the thresholds; defaults when null.</param>
    /// <param name="name">The check's name; <c>grid-</c> and the grid's name (<c>grid-locks</c>) when null.</param>
    /// <param name="failureStatus">The status reported past the unhealthy threshold; <c>Unhealthy</c> when null.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHealthChecksBuilder AddGrid(this IHealthChecksBuilder builder, string grid, Action<GridHealthCheckOptions>? configure = null,
        string? name = null, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(grid);
        var options = Thresholds(configure);
        return builder.Add(new HealthCheckRegistration(name ?? "grid-" + grid, provider =>
            new GridHealthCheck(provider.GetRequiredKeyedService<Manager>(grid), options, grid), failureStatus, tags));
    }

    private static GridHealthCheckOptions Thresholds(Action<GridHealthCheckOptions>? configure)
    {
        var options = new GridHealthCheckOptions();
        configure?.Invoke(options);
        if (options.DegradedWhenDisconnected < 1 || options.UnhealthyWhenDisconnected is < 1)
        {
            throw new ArgumentException("GridHealthCheckOptions.DegradedWhenDisconnected and UnhealthyWhenDisconnected must be at least 1.", nameof(configure));
        }

        return options;
    }
}
