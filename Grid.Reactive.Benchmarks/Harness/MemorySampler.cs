namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// Samples the managed heap (<see cref="GC.GetTotalMemory(bool)"/>, no collection forced) every few milliseconds into
/// a preallocated array, to show whether memory stays flat: <see cref="PeakMb"/> over the window, and
/// <see cref="GrowthMb"/>, the peak of its last third minus the peak of its first third.
/// </summary>
public sealed class MemorySampler : IAsyncDisposable
{
    private readonly long[] _samples = new long[20_000];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private int _count;

    private MemorySampler() => _sampling = Task.Run(SampleAsync);

    /// <summary>The highest sample, in MiB.</summary>
    public double PeakMb => Max(0, _count) / (1024.0 * 1024.0);

    /// <summary>The peak of the last third of the window minus the peak of the first third, in MiB.</summary>
    public double GrowthMb
    {
        get
        {
            var third = Math.Max(1, _count / 3);
            return (Max(_count - third, _count) - Max(0, third)) / (1024.0 * 1024.0);
        }
    }

    /// <summary>Starts sampling.</summary>
    public static MemorySampler Start() => new();

    /// <summary>Stops sampling; the figures are final afterwards.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        try
        {
            do
            {
                if (_count < _samples.Length)
                {
                    _samples[_count++] = GC.GetTotalMemory(forceFullCollection: false);
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private long Max(int from, int to)
    {
        long max = 0;
        for (var i = Math.Max(0, from); i < to; i++)
        {
            max = Math.Max(max, _samples[i]);
        }

        return max;
    }
}
