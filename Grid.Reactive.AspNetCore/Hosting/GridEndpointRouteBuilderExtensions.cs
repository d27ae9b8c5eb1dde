using Grid.Reactive;
using Grid.Reactive.Hosting;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Serves the grids added with <c>services.AddGrid(...)</c> from the application's endpoints.</summary>
public static class GridEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the grid added with <c>services.AddGrid(...)</c>: its transport comes from the application's services, and
    /// the endpoint accepts WebSockets on its own (no <c>UseWebSockets()</c> needed). The application must listen at
    /// the grid's <see cref="GridOptions.Address"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <returns>The endpoint, for further conventions (authorization, host filters).</returns>
    /// <exception cref="InvalidOperationException">The grid was not added, runs its own server, or uses another transport.</exception>
    /// <exception cref="OptionsValidationException">The grid's options are not valid; the message names each.</exception>
    public static IEndpointConventionBuilder MapGrid(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (!IsAdded(services, Options.DefaultName) || services.GetService<Manager>() is null)
        {
            throw new InvalidOperationException("MapGrid() needs the grid in the application's services: call services.AddGrid(...) first.");
        }

        return Map(endpoints, "MapGrid()", "the grid", services.GetRequiredService<IOptions<GridOptions>>().Value, services.GetRequiredService<GridTransport>());
    }

    /// <summary>
    /// Maps the named grid added with <c>services.AddGrid(name, ...)</c>, as <see cref="MapGrid(IEndpointRouteBuilder)"/>
    /// does the unnamed one. Give each grid mapped into one application its own <see cref="GridOptions.Path"/>; the
    /// application must listen at the grid's <see cref="GridOptions.Address"/> (a port of its own, if you like, with a
    /// host filter such as <c>.RequireHost("*:5001")</c> on the returned endpoint).
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="name">The grid's name, as given to <c>AddGrid</c>.</param>
    /// <returns>The endpoint, for further conventions (authorization, host filters).</returns>
    /// <exception cref="InvalidOperationException">No grid of that name was added, or it runs its own server, or uses another transport.</exception>
    /// <exception cref="OptionsValidationException">The grid's options are not valid; the message names the grid and each bad key.</exception>
    public static IEndpointConventionBuilder MapGrid(this IEndpointRouteBuilder endpoints, string name)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = endpoints.ServiceProvider;
        var call = $"MapGrid(\"{name}\")";
        if (!IsAdded(services, name))
        {
            throw new InvalidOperationException($"{call} needs the grid '{name}' in the application's services: call services.AddGrid(\"{name}\", ...) first.");
        }

        return Map(endpoints, call, $"grid '{name}'", GridSetup.Options(services, name), services.GetRequiredKeyedService<GridTransport>(name));
    }

    // The grid paths mapped so far into each application's endpoints, so that a second grid on the same path is refused
    // here, by name, instead of as an ambiguous route at its first request.
    private static readonly ConditionalWeakTable<IEndpointRouteBuilder, Dictionary<string, string>> MappedPaths = [];

    private static bool IsAdded(IServiceProvider services, string name) =>
        services.GetServices<GridRegistration>().Any(grid => grid.Name == name);

    private static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints, string call, string grid, GridOptions options, GridTransport gridTransport)
    {
        if (options.SelfHost)
        {
            throw new InvalidOperationException($"GridOptions.SelfHost is true for {grid}: it runs its own server at its address; do not map it into the application.");
        }

        if (gridTransport is not WebSocketTransport transport)
        {
            throw new InvalidOperationException($"{call} serves a WebSocket grid; the transport of {grid} (GridOptions.Transport) is not a WebSocketTransport.");
        }

        var mapped = MappedPaths.GetOrCreateValue(endpoints);
        lock (mapped)
        {
            if (mapped.TryGetValue(transport.Path, out var other))
            {
                throw new InvalidOperationException(
                    $"{call}: the path '{transport.Path}' is already mapped for {other}; give each grid mapped into one application its own GridOptions.Path.");
            }

            mapped.Add(transport.Path, grid);
        }

        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        pipeline.Run(transport.AcceptAsync);
        return endpoints.Map(transport.Path, pipeline.Build()).WithDisplayName("Grid.Reactive " + transport.Path);
    }
}
