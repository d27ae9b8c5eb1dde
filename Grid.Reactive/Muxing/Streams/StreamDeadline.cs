using System.Reactive.Concurrency;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>
/// Arms a stream's deadline on the grid's scheduler for any length, up to <see cref="TimeSpan.MaxValue"/> ("practically
/// no deadline"). No single timer is ever armed for more than <see cref="MaxTimer"/>: System.Threading.Timer, under
/// the default schedulers, refuses anything beyond about 49.7 days, and a virtual clock would overflow. A longer
/// deadline is a chain of such timers, each re-armed for what is left when the one before it fires, so it still ends
/// exactly on time, in virtual time too.
/// </summary>
internal static class StreamDeadline
{
    /// <summary>The longest single timer armed (about 24.8 days), well inside every scheduler's range.</summary>
    public static readonly TimeSpan MaxTimer = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>Calls <paramref name="expired"/> with <paramref name="state"/> once <paramref name="due"/> has passed.</summary>
    /// <returns>Disposing it cancels the deadline, whichever timer of the chain is armed.</returns>
    public static IDisposable Start<TState>(IScheduler scheduler, TimeSpan due, TState state, Action<TState> expired)
    {
        var left = due < TimeSpan.Zero ? TimeSpan.Zero : due;
        return scheduler.Schedule((Left: left, State: state, Expired: expired), Clamp(left), static (s, rearm) =>
        {
            // The timer just fired after Clamp(s.Left): what is left, saturating, is for the next one.
            var left = s.Left - Clamp(s.Left);
            if (left > TimeSpan.Zero)
            {
                rearm(s with { Left = left }, Clamp(left));
            }
            else
            {
                s.Expired(s.State);
            }
        });
    }

    /// <summary>A deadline as a StreamConnect carries it: whole milliseconds, at least 1, saturating at uint.MaxValue.</summary>
    public static uint ToWire(TimeSpan timeout) => (uint)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 1, uint.MaxValue);

    /// <summary>
    /// The deadline a peer's StreamConnect asks for: none for 0, and none for the saturated uint.MaxValue either, which
    /// means "about 49.7 days or longer", up to no practical deadline; the caller enforces its own, exact one.
    /// </summary>
    public static TimeSpan? FromWire(uint deadlineMs) => deadlineMs is 0 or uint.MaxValue ? null : TimeSpan.FromMilliseconds(deadlineMs);

    private static TimeSpan Clamp(TimeSpan due) => due > MaxTimer ? MaxTimer : due;
}
