using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.GridSystem;

/// <summary>
/// Where the grid's streams plug in: Grid.Reactive has no streams yet (a later issue), so the stream scenarios report
/// the grid as "n/a" instead of a figure. When streams land, implement <see cref="IStreamTarget"/> here with two
/// managers (as <see cref="GridEchoSystem"/> does) and clear <see cref="NotAvailable"/>.
/// </summary>
public sealed class GridStreamSystem : IStreamSystem
{
    /// <inheritdoc />
    public string Name => "grid";

    /// <inheritdoc />
    public string? NotAvailable => "streams not implemented yet";

    /// <inheritdoc />
    public Task<IStreamTarget> StartAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("Grid.Reactive has no streams yet.");
}
