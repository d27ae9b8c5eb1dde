using System.Reactive.Disposables;

namespace Grid.Reactive.Muxing;

/// <summary>
/// Holds one call's timer so that whichever comes first, the timer being set or the call ending, the timer is
/// disposed exactly once: a timer set after the call ended is disposed at once instead of lingering until it fires.
/// </summary>
internal struct TimerSlot
{
    private static readonly IDisposable Cancelled = Disposable.Create(static () => { });
    private IDisposable? _timer;

    public void Set(IDisposable timer)
    {
        if (Interlocked.CompareExchange(ref _timer, timer, null) is not null)
        {
            timer.Dispose();
        }
    }

    public void Cancel()
    {
        var timer = Interlocked.Exchange(ref _timer, Cancelled);
        if (!ReferenceEquals(timer, Cancelled))
        {
            timer?.Dispose();
        }
    }
}
