using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// The capacity faults of a hostile run: a slow link in one direction, a reader that stops or slows down for one
/// peer, a node that stops reading from every peer for a while. Each is undone a random while later (sometimes after
/// the peers' ping timeouts, so that the stuck side's connections may drop). Choices come from the grid's seeded random.
/// </summary>
internal static class CapacityFaults
{
    /// <param name="grid">The grid to fault.</param>
    /// <param name="profile">The bandwidths to draw from.</param>
    /// <param name="later">Schedules an undoing between a minimum and a maximum of milliseconds, unless the run has stopped faulting.</param>
    public static void InjectOne(SimulatedGrid grid, SimulationProfile profile, Action<int, int, Action> later)
    {
        var random = grid.Random;
        var a = grid.Nodes[random.Next(grid.Nodes.Count)];
        var others = grid.Nodes.Where(n => n != a).ToList();
        var b = others[random.Next(others.Count)];
        switch (random.Next(100))
        {
            case < 40:
                var (min, max) = profile.Bandwidth;
                grid.SetBandwidth(a, b, min + (long)(random.NextDouble() * (max - min)));
                later(100, 3000, () => grid.SetBandwidth(a, b, null));
                break;
            case < 65:
                grid.StopReading(a, b, Window(random));
                later(20, 2500, () => grid.ResumeReading(a, b));
                break;
            case < 80:
                grid.ReadSlowly(a, b, 2_000 + random.Next(100_000), Window(random));
                later(100, 3000, () => grid.ResumeReading(a, b));
                break;
            default:
                // A node whose reading loop is stuck: it reads from nobody for a while.
                foreach (var peer in others)
                {
                    grid.StopReading(a, peer, Window(random));
                }

                later(20, 2500, () =>
                {
                    foreach (var peer in others)
                    {
                        grid.ResumeReading(a, peer);
                    }
                });
                break;
        }
    }

    private static int Window(Random random) => random.Next(3) switch
    {
        0 => 4096 + random.Next(4096),
        1 => 16 * 1024 + random.Next(48 * 1024),
        _ => InMemoryNetwork.DefaultReadWindow,
    };
}
