namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// Credit for a stream's sender: granted by the receiver, taken by the sender, who waits while there is none.
/// Thread-safe. Closing it wakes and fails the waiting sender.
/// </summary>
public sealed class CreditGate
{
    private readonly Lock _gate = new();
    private long _credit;
    private bool _closed;
    private TaskCompletionSource? _waiter;

    /// <summary>Creates a gate holding <paramref name="initial"/> credit.</summary>
    public CreditGate(long initial = 0) => _credit = initial;

    /// <summary>Adds <paramref name="credit"/> and wakes the sender.</summary>
    public void Grant(long credit)
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            _credit += credit;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }

    /// <summary>Takes between 1 and <paramref name="max"/> credit, waiting while there is none.</summary>
    /// <exception cref="OperationCanceledException">The gate was closed or <paramref name="cancellationToken"/> cancelled.</exception>
    public async ValueTask<long> TakeAsync(long max, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource waiter;
            lock (_gate)
            {
                if (_closed)
                {
                    throw new OperationCanceledException("The credit gate was closed.");
                }

                if (_credit > 0)
                {
                    var taken = Math.Min(max, _credit);
                    _credit -= taken;
                    return taken;
                }

                waiter = _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            await waiter.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Closes the gate: the sender's current and later takes fail.</summary>
    public void Close()
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            _closed = true;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }
}
