using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Grid.Reactive.Testing;

/// <summary>
/// Advances a virtual-time scheduler by a <see cref="TimeSpan"/> without knowing its clock's units: a stop is
/// scheduled that far ahead (the scheduler converts the span itself), and the scheduler runs until it reaches it.
/// </summary>
/// <remarks>
/// Work due at the very instant of the stop but scheduled after it runs on the next advance; the clock reads the
/// same either way. Not reentrant: advancing from inside work the scheduler is running throws.
/// </remarks>
internal static class VirtualClock
{
    /// <summary>How to advance <paramref name="scheduler"/>, or null when it is not a virtual-time scheduler this knows.</summary>
    public static Action<TimeSpan>? For(IScheduler scheduler) => scheduler switch
    {
        VirtualTimeSchedulerBase<long, long> ticks => span => RunToStop(ticks, span),
        VirtualTimeSchedulerBase<DateTimeOffset, TimeSpan> historical => span => RunToStop(historical, span),
        _ => null,
    };

    private static void RunToStop<TAbsolute, TRelative>(VirtualTimeSchedulerBase<TAbsolute, TRelative> scheduler, TimeSpan span)
        where TAbsolute : IComparable<TAbsolute>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(span, TimeSpan.Zero);
        if (scheduler.IsEnabled)
        {
            throw new InvalidOperationException("The virtual clock is already running: advance it from the test, not from work it runs.");
        }

        ((IScheduler)scheduler).Schedule(scheduler, span, static (_, self) =>
        {
            self.Stop();
            return Disposable.Empty;
        });
        scheduler.Start();
    }
}
