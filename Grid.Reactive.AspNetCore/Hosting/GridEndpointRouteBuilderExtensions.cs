using Grid.Reactive;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Serves the grid added with <c>services.AddGrid(...)</c> from the application's endpoints.</summary>
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
        var options = endpoints.ServiceProvider.GetService<IOptions<GridOptions>>()?.Value;
        if (options is null || endpoints.ServiceProvider.GetService<Manager>() is null)
        {
            throw new InvalidOperationException("MapGrid() needs the grid in the application's services: call services.AddGrid(...) first.");
        }

        if (options.SelfHost)
        {
            throw new InvalidOperationException("GridOptions.SelfHost is true: the grid runs its own server at its address; do not map it into the application.");
        }

        if (endpoints.ServiceProvider.GetRequiredService<GridTransport>() is not WebSocketTransport transport)
        {
            throw new InvalidOperationException("MapGrid() serves a WebSocket grid; the grid's transport (GridOptions.Transport) is not a WebSocketTransport.");
        }

        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        pipeline.Run(transport.AcceptAsync);
        return endpoints.Map(transport.Path, pipeline.Build()).WithDisplayName("Grid.Reactive " + transport.Path);
    }
}
