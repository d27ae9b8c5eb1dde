using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Grid.Reactive.Hosting;

/// <summary>
/// Starts the grid with the host and stops it first: the drain runs in <see cref="StoppingAsync"/>, before any hosted
/// service's <c>StopAsync</c>, so the grid's long-lived WebSocket requests have ended when Kestrel stops and the host
/// never waits for its shutdown timeout on them.
/// </summary>
internal sealed class GridHostedService(IServiceProvider services) : IHostedLifecycleService
{
    // Resolved at start, after the host has validated the options, so a bad option fails with its name, not as a
    // construction error of this service.
    private Manager? _manager;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        _manager = services.GetRequiredService<Manager>();
        await _manager.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_manager is { } manager)
        {
            var drain = services.GetRequiredService<IOptions<GridOptions>>().Value.DrainTimeout;
            await manager.StopAsync(drain, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
