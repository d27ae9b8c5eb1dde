using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Grid.Reactive.Hosting;

/// <summary>
/// Starts every grid of the application (the unnamed one and each named one) with the host and stops them first: the
/// drain runs in <see cref="StoppingAsync"/>, before any hosted service's <c>StopAsync</c>, so the grids' long-lived
/// WebSocket requests have ended when Kestrel stops and the host never waits for its shutdown timeout on them.
/// </summary>
internal sealed class GridHostedService(IServiceProvider services) : IHostedLifecycleService
{
    // Resolved at start, after the host has validated the options, so a bad option fails with its name, not as a
    // construction error of this service.
    private readonly List<(GridRegistration Grid, Manager Manager)> _started = [];

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var grids = services.GetServices<GridRegistration>().ToList();
        var orphans = services.GetServices<GridHandlerRegistration>()
            .Where(handler => !grids.Exists(grid => grid.Name == handler.Grid))
            .Select(handler => handler.Grid.Length == 0
                ? $"{handler.Description} is added to the unnamed grid, which was not added: call services.AddGrid(...)."
                : $"{handler.Description} is added to the grid '{handler.Grid}', which was not added: call services.AddGrid(\"{handler.Grid}\", ...).")
            .ToList();
        if (orphans.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", orphans));
        }

        foreach (var grid in grids)
        {
            var manager = grid.Name.Length == 0 ? services.GetRequiredService<Manager>() : services.GetRequiredKeyedService<Manager>(grid.Name);
            await manager.StartAsync(cancellationToken).ConfigureAwait(false);
            _started.Add((grid, manager));
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_started.Select(started =>
            started.Manager.StopAsync(GridSetup.Options(services, started.Grid.Name).DrainTimeout, cancellationToken).AsTask()));

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
