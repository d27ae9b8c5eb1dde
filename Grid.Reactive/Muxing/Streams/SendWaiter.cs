using System.Threading.Tasks.Sources;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>
/// One sender waiting for credit in a <see cref="CreditWindow"/>, as the source of its <see cref="ValueTask"/>.
/// Reused: once its awaiter has taken the result, a waiter the window completed goes back to the window for the next
/// wait, so a producer that keeps stalling on credit allocates nothing per stall.
/// </summary>
internal sealed class SendWaiter : IValueTaskSource, IThreadPoolWorkItem
{
    private const int Waiting = 0;
    private const int Claimed = 1;
    private const int Cancelled = 2;

    private readonly CreditWindow _owner;
    private readonly Dispatcher _dispatcher;
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private Exception? _error;
    private int _state;

    public SendWaiter(CreditWindow owner, Dispatcher dispatcher)
    {
        _owner = owner;
        _dispatcher = dispatcher;
    }

    /// <summary>The message while it waits in its window's <see cref="SendQueue"/>; the queue's fields, under the window's lock.</summary>
    internal byte[]? Message { get; set; }

    internal long Order { get; set; }

    internal SendWaiter? Previous { get; set; }

    internal SendWaiter? Next { get; set; }

    internal bool Queued { get; set; }

    /// <summary>Starts a wait; the result is the awaitable for the sender.</summary>
    public ValueTask Arm(CancellationToken cancellationToken)
    {
        _error = null;
        Volatile.Write(ref _state, Waiting);
        var wait = new ValueTask(this, _core.Version);
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(static (state, token) => ((SendWaiter)state!).OnCancelled(token), this);
        }

        return wait;
    }

    /// <summary>The window takes the message, to send it or to fail it; false when its sender cancelled first.</summary>
    public bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Waiting) == Waiting;

    /// <summary>After a successful claim: the message is sent; the sender resumes through the dispatcher.</summary>
    public void Succeed() => _dispatcher.Dispatch(this);

    /// <summary>After a successful claim: the direction closed; the sender resumes with <paramref name="error"/>.</summary>
    public void Fail(Exception error)
    {
        _error = error;
        _dispatcher.Dispatch(this);
    }

    public void Execute()
    {
        _registration.Dispose();
        _registration = default;
        if (_error is { } error)
        {
            _core.SetException(error);
        }
        else
        {
            _core.SetResult(true);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    public void GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            // A cancelled waiter's registration may still be running its callback: never reuse that one.
            if (Volatile.Read(ref _state) == Claimed)
            {
                _core.Reset();
                _owner.Recycle(this);
            }
        }
    }

    private void OnCancelled(CancellationToken token)
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Waiting) == Waiting)
        {
            // Out of the window's queue at once, releasing the message, before the sender resumes.
            _owner.Withdraw(this);
            _core.SetException(new OperationCanceledException(token));
        }
    }
}
