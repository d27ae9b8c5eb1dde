using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Grid.Reactive.Connections;

namespace Grid.Reactive.Muxing.Streams;

/// <summary>
/// The receiving half of one stream direction. The link's reader only checks and queues a message (never blocking
/// on the consumer); the consumer takes messages off its own context, in order, and credit goes back to the sender
/// only as it takes them: after an observer's <c>OnNext</c> returns, or as a pull reader reads. The queue can never
/// hold more than the window, because the sender may not send more than it was granted.
/// </summary>
/// <remarks>
/// Grants are coalesced: one credit frame per quarter window taken, and at once when the sender has no credit left
/// and the consumer has caught up, so a stalled sender is always granted everything its consumer took.
/// </remarks>
internal sealed class StreamInbox : IThreadPoolWorkItem
{
    private const int NoConsumer = 0;
    private const int PushConsumer = 1;
    private const int PullConsumer = 2;

    private readonly ConcurrentQueue<byte[]> _messages = new();

    private readonly UserCode _user;
    private readonly Action<int> _grant;
    private readonly Action<Exception> _consumerFailed;
    private int _grantBatch;
    private int _allowance;
    private uint _expected = 1;
    private int _mode;
    private int _draining;
    private int _taken;
    private const int Running = 0;
    private const int Finished = 1;
    private const int Aborted = 2;

    private IObserver<byte[]>? _observer;
    private volatile Exception? _end;
    private volatile bool _ended;
    private Exception? _abort;
    private volatile bool _unsubscribed;
    private int _ending;
    private int _terminalDelivered;
    private TaskCompletionSource? _reader;

    /// <param name="user">The guarded hop through which consumers are called.</param>
    /// <param name="window">Messages the sender may send before its first grant.</param>
    /// <param name="grant">Sends a credit grant of the given count to the sender.</param>
    /// <param name="consumerFailed">Called when a push consumer's OnNext throws.</param>
    public StreamInbox(UserCode user, int window, Action<int> grant, Action<Exception> consumerFailed)
    {
        _user = user;
        _allowance = window;
        _grant = grant;
        _consumerFailed = consumerFailed;
        _grantBatch = Math.Max(1, window / 4);
    }

    /// <summary>Sets the window once it is known (a caller's pull inbox exists before the accept brings it).</summary>
    public void SetWindow(int window)
    {
        _grantBatch = Math.Max(1, window / 4);
        Interlocked.Exchange(ref _allowance, window);
    }

    /// <summary>Queues message <paramref name="seq"/>; returns why it breaks the protocol, or null. Reader context only.</summary>
    public string? Accept(uint seq, byte[] message)
    {
        if (seq != _expected)
        {
            return $"message {seq} arrived where {_expected} was expected (a gap or a reorder)";
        }

        if (Interlocked.Decrement(ref _allowance) < 0)
        {
            return $"message {seq} arrived beyond the credit granted";
        }

        _expected++;
        _messages.Enqueue(message);
        Wake();
        return null;
    }

    /// <summary>
    /// Checks the sender's count of the messages it sent against those that arrived, when it ends the direction
    /// normally; returns why they differ (messages lost on the way), or null. Reader context only.
    /// </summary>
    public string? CheckEnd(uint sent) =>
        sent == _expected - 1 ? null : $"the sender ended after {sent} messages, but {_expected - 1} arrived";

    /// <summary>The sender ended this direction: the consumer sees the end after every message already queued.</summary>
    public void Finish(Exception? error)
    {
        if (_ended)
        {
            return;
        }

        _end = error;
        _ended = true;
        Wake();
    }

    /// <summary>The stream failed: the consumer sees <paramref name="error"/> now; queued messages are dropped.</summary>
    /// <remarks>
    /// Unless the consumer had already taken the normal end: the ending is decided once, by whichever of this and the
    /// consumer's <see cref="TryEnd"/> comes first, so a failed stream never completes as if nothing were missing.
    /// </remarks>
    public void Abort(Exception error)
    {
        Interlocked.CompareExchange(ref _abort, error, null);
        Interlocked.CompareExchange(ref _ending, Aborted, Running);
        Wake();
    }

    /// <summary>Attaches the push consumer; disposing it stops deliveries (used when the stream is cancelled).</summary>
    public IDisposable Subscribe(IObserver<byte[]> observer)
    {
        SetMode(PushConsumer);
        _observer = observer;
        ScheduleDrain();
        return new Unsubscriber(this);
    }

    /// <summary>The pull consumer: each message read is granted back to the sender.</summary>
    public async IAsyncEnumerable<byte[]> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        SetMode(PullConsumer);
        while (true)
        {
            while (Volatile.Read(ref _ending) != Aborted && _messages.TryDequeue(out var message))
            {
                Took();
                yield return message;
            }

            if (TryEnd(out var error))
            {
                if (error is not null)
                {
                    throw error;
                }

                yield break;
            }

            // Publish the waiter, then look again: a message or an ending that came before it was published is seen
            // here. The exchange is a full fence, so this look cannot be read ahead of the publication (a plain
            // write could be, and the wake would then find no waiter: a reader that never resumes).
            var waiter = new TaskCompletionSource();
            Interlocked.Exchange(ref _reader, waiter);
            if (_messages.IsEmpty && !_ended && Volatile.Read(ref _ending) == Running)
            {
                await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Delivers queued messages to the push consumer, then the end; one pass at a time.</summary>
    public void Execute()
    {
        while (true)
        {
            var observer = _observer;
            if (observer is not null && !_unsubscribed)
            {
                while (Volatile.Read(ref _ending) != Aborted && !_unsubscribed && _messages.TryDequeue(out var message))
                {
                    try
                    {
                        observer.OnNext(message);
                    }
#pragma warning disable CA1031 // A consumer's failure ends its stream, never the connection.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        _unsubscribed = true;
                        _user.Failed(ex);
                        _consumerFailed(ex);
                        return;
                    }

                    Took();
                }

                if (!_unsubscribed && TryEnd(out var terminal) && Interlocked.Exchange(ref _terminalDelivered, 1) == 0)
                {
                    // Guarded: an observer whose OnError or OnCompleted throws (an onNext-only subscriber rethrows the
                    // error) is logged, and touches nothing else.
                    if (terminal is null)
                    {
                        _user.Invoke(static o => o.OnCompleted(), observer);
                    }
                    else
                    {
                        _user.Invoke(static s => s.Observer.OnError(s.Error), (Observer: observer, Error: terminal));
                    }
                }
            }

            Interlocked.Exchange(ref _draining, 0);
            var more = _observer is not null && !_unsubscribed && Volatile.Read(ref _terminalDelivered) == 0
                && (!_messages.IsEmpty || _ended || Volatile.Read(ref _ending) != Running);
            if (!more || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Decides the consumer's ending, once: the abort's error if it came first, else the sender's end (normal or with
    /// its error) once every message before it was taken. False while the stream goes on.
    /// </summary>
    private bool TryEnd(out Exception? error)
    {
        var ending = Volatile.Read(ref _ending);
        if (ending == Running && _ended && _messages.IsEmpty)
        {
            ending = Interlocked.CompareExchange(ref _ending, Finished, Running) is var was && was == Running ? Finished : was;
        }

        error = ending switch
        {
            Aborted => Volatile.Read(ref _abort),
            Finished => _end,
            _ => null,
        };
        return ending != Running;
    }

    private void Took()
    {
        _taken++;

        // Grant per quarter window; sooner only when the sender has used up all it was granted and the consumer has
        // caught up, so a stalled sender always gets back everything taken, and a keeping-up consumer does not send a
        // credit frame per message.
        if (_taken >= _grantBatch || (_messages.IsEmpty && Volatile.Read(ref _allowance) <= 0))
        {
            var count = _taken;
            _taken = 0;
            Interlocked.Add(ref _allowance, count);
            _grant(count);
        }
    }

    private void SetMode(int mode)
    {
        if (Interlocked.CompareExchange(ref _mode, mode, NoConsumer) != NoConsumer)
        {
            throw new InvalidOperationException("A stream's incoming messages can be consumed once, by one observer or one reader.");
        }
    }

    private void Wake()
    {
        if (Volatile.Read(ref _mode) == PullConsumer)
        {
            // The reader resumes in a dispatched work item: off the link's reader, and on the grid's scheduler.
            if (Interlocked.Exchange(ref _reader, null) is { } waiter)
            {
                _user.Post(static w => w.TrySetResult(), waiter);
            }
        }
        else
        {
            ScheduleDrain();
        }
    }

    private void ScheduleDrain()
    {
        if (Volatile.Read(ref _mode) == PushConsumer && _observer is not null
            && Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _user.Dispatcher.Dispatch(this);
        }
    }

    private sealed class Unsubscriber(StreamInbox inbox) : IDisposable
    {
        public void Dispose() => inbox._unsubscribed = true;
    }
}
