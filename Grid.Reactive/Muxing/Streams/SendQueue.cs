namespace Grid.Reactive.Muxing.Streams;

/// <summary>
/// The messages of one <see cref="CreditWindow"/> waiting for credit, in the order they were given: pushed ones in a
/// queue, awaited ones as their <see cref="SendWaiter"/>s in an intrusive list, so that a sender that gives up its
/// wait leaves at once and its message is released, as System.Threading.Channels unlinks a cancelled waiter.
/// </summary>
/// <remarks>Not thread-safe: the window's lock guards it. Nothing here allocates per message beyond the queue's growth.</remarks>
internal sealed class SendQueue
{
    private readonly Queue<(byte[] Message, long Order)> _pushes = new();
    private SendWaiter? _head;
    private SendWaiter? _tail;
    private long _nextOrder;

    /// <summary>Pushed messages waiting.</summary>
    public int Pushes => _pushes.Count;

    /// <summary>Awaited messages waiting.</summary>
    public int Waiting { get; private set; }

    public int Count => _pushes.Count + Waiting;

    public void Enqueue(byte[] message) => _pushes.Enqueue((message, _nextOrder++));

    /// <summary>Queues an awaited message: <paramref name="waiter"/> holds it until it is sent or its sender gives up.</summary>
    public void Enqueue(SendWaiter waiter, byte[] message)
    {
        waiter.Message = message;
        waiter.Order = _nextOrder++;
        waiter.Previous = _tail;
        waiter.Next = null;
        if (_tail is null)
        {
            _head = waiter;
        }
        else
        {
            _tail.Next = waiter;
        }

        _tail = waiter;
        waiter.Queued = true;
        Waiting++;
    }

    /// <summary>Takes <paramref name="waiter"/> and its message out of the queue; false when it is no longer in it.</summary>
    public bool Remove(SendWaiter waiter)
    {
        if (!waiter.Queued)
        {
            return false;
        }

        if (waiter.Previous is null)
        {
            _head = waiter.Next;
        }
        else
        {
            waiter.Previous.Next = waiter.Next;
        }

        if (waiter.Next is null)
        {
            _tail = waiter.Previous;
        }
        else
        {
            waiter.Next.Previous = waiter.Previous;
        }

        waiter.Previous = waiter.Next = null;
        waiter.Message = null;
        waiter.Queued = false;
        Waiting--;
        return true;
    }

    /// <summary>Takes the oldest message; <paramref name="waiter"/> is its awaiting sender, or null for a pushed one.</summary>
    public bool TryDequeue(out byte[] message, out SendWaiter? waiter)
    {
        var head = _head;
        if (_pushes.TryPeek(out var push) && (head is null || push.Order < head.Order))
        {
            _pushes.Dequeue();
            message = push.Message;
            waiter = null;
            return true;
        }

        if (head is null)
        {
            message = [];
            waiter = null;
            return false;
        }

        message = head.Message!;
        waiter = head;
        Remove(head);
        return true;
    }

    /// <summary>Empties the queue, handing back the waiters that were in it.</summary>
    public List<SendWaiter> Clear()
    {
        var waiters = new List<SendWaiter>(Waiting);
        while (_head is { } head)
        {
            waiters.Add(head);
            Remove(head);
        }

        _pushes.Clear();
        return waiters;
    }
}
