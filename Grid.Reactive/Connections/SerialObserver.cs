using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Connections;

/// <summary>
/// Delivers one user observer's notifications in order, off the producer's context, one dispatched pass at a time,
/// each call guarded. The producer never waits: a slow observer holds up only its own queue, which keeps at most
/// <c>capacity</c> notifications (the oldest beyond that are dropped and counted in the log). After a terminal
/// notification nothing more is delivered; an observer that throws gets nothing more either.
/// </summary>
internal sealed class SerialObserver<T> : IObserver<T>, IThreadPoolWorkItem
{
    private readonly UserCode _user;
    private readonly IObserver<T> _observer;
    private readonly int _capacity;
    private readonly Queue<Notification> _queue = new();
    private readonly Lock _gate = new();
    private bool _scheduled;
    private bool _done;
    private long _dropped;

    public SerialObserver(UserCode user, IObserver<T> observer, int capacity)
    {
        _user = user;
        _observer = observer;
        _capacity = Math.Max(1, capacity);
    }

    public void OnNext(T value) => Enqueue(new Notification(Kind.Next, value, null));

    /// <summary>
    /// Delivers what is queued on the calling thread, if no pass is scheduled: for a replay on the subscriber's own
    /// thread (never from protocol code), so a new subscriber sees the current value before its Subscribe returns.
    /// </summary>
    public void DeliverQueuedHere()
    {
        lock (_gate)
        {
            if (_scheduled || _queue.Count == 0)
            {
                return;
            }

            _scheduled = true;
        }

        ((IThreadPoolWorkItem)this).Execute();
    }

    public void OnError(Exception error) => Enqueue(new Notification(Kind.Error, default, error));

    public void OnCompleted() => Enqueue(new Notification(Kind.Completed, default, null));

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            Notification next;
            lock (_gate)
            {
                if (_done || !_queue.TryDequeue(out next))
                {
                    _scheduled = false;
                    if (_done)
                    {
                        _queue.Clear();
                    }

                    return;
                }

                if (next.Kind != Kind.Next)
                {
                    _done = true;
                }
            }

            if (!_user.Invoke(static s => s.Self.Deliver(s.Next), (Self: this, Next: next)))
            {
                lock (_gate)
                {
                    _done = true;
                }
            }
        }
    }

    private void Deliver(in Notification n)
    {
        switch (n.Kind)
        {
            case Kind.Next:
                _observer.OnNext(n.Value!);
                break;
            case Kind.Error:
                _observer.OnError(n.Error!);
                break;
            default:
                _observer.OnCompleted();
                break;
        }
    }

    /// <summary>Queues a notification to be delivered by <see cref="DeliverQueuedHere"/> rather than by a dispatched pass.</summary>
    public void Hold(T value)
    {
        lock (_gate)
        {
            _queue.Enqueue(new Notification(Kind.Next, value, null));
        }
    }

    private void Enqueue(in Notification n)
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }

            if (_queue.Count >= _capacity && n.Kind == Kind.Next)
            {
                _queue.Dequeue();
                if (_dropped++ % 1024 == 0)
                {
                    _user.Dropped(_dropped, _capacity);
                }
            }

            _queue.Enqueue(n);
            if (_scheduled)
            {
                return;
            }

            _scheduled = true;
        }

        _user.Dispatcher.Dispatch(this);
    }

    private enum Kind : byte
    {
        Next,
        Error,
        Completed,
    }

    private readonly record struct Notification(Kind Kind, T? Value, Exception? Error);
}
