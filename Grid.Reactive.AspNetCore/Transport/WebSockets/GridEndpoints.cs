using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Grid.Reactive;

/// <summary>Hosts a grid node's endpoint inside an existing ASP.NET Core application.</summary>
public static class GridEndpoints
{
    /// <summary>
    /// Maps <paramref name="transport"/>'s path to accept grid links. The transport must have
    /// <see cref="WebSocketTransportOptions.SelfHost"/> false, the application must call <c>UseWebSockets()</c> before
    /// routing, and it must listen at the address the manager using this transport has in the grid.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="transport">The transport of the manager this application hosts.</param>
    /// <returns>The endpoint, for further conventions (authorization, host filters).</returns>
    public static IEndpointConventionBuilder MapGrid(this IEndpointRouteBuilder endpoints, WebSocketTransport transport)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(transport);
        return endpoints.Map(transport.Path, transport.AcceptAsync);
    }
}
