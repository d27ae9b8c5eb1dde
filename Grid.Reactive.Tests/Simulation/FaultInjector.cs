using System.Reactive.Concurrency;
using Grid.Reactive.Testing;

namespace Grid.Reactive.Tests.Simulation;

/// <summary>
/// Injects one random fault at a time into a <see cref="SimulatedGrid"/>, and schedules its undoing (a heal, a release,
/// a restart) a random while later. Every choice comes from the grid's seeded random, in scheduler order. A hostile
/// <see cref="SimulationProfile"/> adds capacity faults (see <see cref="CapacityFaults"/>).
/// </summary>
internal sealed class FaultInjector(SimulatedGrid grid, SimulationProfile? profile = null)
{
    private readonly Random _random = grid.Random;
    private readonly SimulationProfile _profile = profile ?? SimulationProfile.Default;
    private bool _stopped;

    public int Injected { get; private set; }

    /// <summary>From now on the undoings still scheduled do nothing: the run heals everything itself.</summary>
    public void Stop() => _stopped = true;

    public void InjectOne()
    {
        Injected++;
        if (_profile.CapacityFaultPercent > 0 && _random.Next(100) < _profile.CapacityFaultPercent)
        {
            CapacityFaults.InjectOne(grid, _profile, Later);
            return;
        }

        var roll = _random.Next(100);
        var (a, b) = RandomPair();
        switch (roll)
        {
            case < 20:
                grid.SetLatency(a, b, _random.Next(10) switch
                {
                    < 3 => TimeSpan.Zero,
                    < 8 => Ms(1 + _random.Next(20)),
                    _ => Ms(100 + _random.Next(300)),
                });
                break;
            case < 35:
                grid.Cut(a, b);
                Later(50, 2000, () => grid.Heal(a, b));
                break;
            case < 45:
                Partition();
                break;
            case < 60:
                TakeDown(a, crash: true);
                break;
            case < 65:
                TakeDown(a, crash: false);
                break;
            case < 80:
                grid.Hold(a, b);
                if (_random.Next(4) == 0)
                {
                    grid.Hold(b, a);
                    Later(10, 3000, () => grid.Release(b, a));
                }

                Later(10, 3000, () => grid.Release(a, b));
                break;
            default:
                grid.DropNext(a, b, 1 + _random.Next(3));
                break;
        }
    }

    private void Partition()
    {
        var shuffled = grid.Nodes.OrderBy(_ => _random.Next()).ToList();
        var split = 1 + _random.Next(shuffled.Count - 1);
        var left = shuffled.Take(split).ToList();
        var right = shuffled.Skip(split).ToList();
        grid.Partition(left, right);
        Later(100, 2000, () =>
        {
            foreach (var l in left)
            {
                foreach (var r in right)
                {
                    grid.Heal(l, r);
                }
            }
        });
    }

    private void TakeDown(string node, bool crash)
    {
        // Keep at least two nodes up, so calls keep flowing somewhere.
        if (!grid.IsUp(node) || grid.Nodes.Count(grid.IsUp) <= 2)
        {
            return;
        }

        if (crash)
        {
            grid.Crash(node, peersNotice: _random.Next(3) != 0);
        }
        else
        {
            grid.Stop(node);
        }

        Later(20, 2000, () =>
        {
            if (!grid.IsUp(node))
            {
                grid.Start(node);
            }
        });
    }

    private (string A, string B) RandomPair()
    {
        var a = grid.Nodes[_random.Next(grid.Nodes.Count)];
        var others = grid.Nodes.Where(n => n != a).ToList();
        return (a, others[_random.Next(others.Count)]);
    }

    private void Later(int minMs, int maxMs, Action undo) =>
        grid.Scheduler.Schedule(Ms(minMs + _random.Next(maxMs - minMs)), () =>
        {
            if (!_stopped)
            {
                undo();
            }
        });

    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);
}
