namespace Grid.Reactive.Muxing;

/// <summary>
/// The task of <see cref="Connection.RequestAsync"/>: the observer of one request (the same call as a subscription to
/// <see cref="Connection.Request"/>), completing its task with the outcome; cancellation disposes the call, which
/// cancels it on both sides, and cancels the task. One object per call besides the request itself.
/// </summary>
/// <remarks>
/// The registration is removed with <see cref="CancellationTokenRegistration.Unregister"/>, which never waits: a
/// cancellation callback running on another thread may be waiting in <see cref="OutgoingRequest.Dispose"/> for this
/// very delivery to end. Who removes it is decided by <see cref="_state"/>, so it is never read half-written.
/// </remarks>
internal sealed class RequestCompletion : TaskCompletionSource<byte[]>, IObserver<byte[]>
{
    private const int Registering = 0;
    private const int Registered = 1;
    private const int Done = 2;

    private readonly CancellationToken _cancellationToken;
    private IDisposable? _call;
    private CancellationTokenRegistration _registration;
    private int _state;

    private RequestCompletion(CancellationToken cancellationToken) => _cancellationToken = cancellationToken;

    public static Task<byte[]> Start(Connection connection, HandlerId handler, byte[] payload, TimeSpan timeout, string? subroute, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return System.Threading.Tasks.Task.FromCanceled<byte[]>(cancellationToken);
        }

        var completion = new RequestCompletion(cancellationToken);
        var call = RequestObservable.Start(connection, completion, handler, payload, timeout, subroute);
        if (cancellationToken.CanBeCanceled && !completion.Task.IsCompleted)
        {
            Volatile.Write(ref completion._call, call);
            completion._registration = cancellationToken.UnsafeRegister(static state => ((RequestCompletion)state!).Cancel(), completion);
            if (Interlocked.CompareExchange(ref completion._state, Registered, Registering) == Done)
            {
                completion._registration.Unregister();
            }
        }

        return completion.Task;
    }

    public void OnNext(byte[] value)
    {
        Unregister();
        TrySetResult(value);
    }

    public void OnError(Exception error)
    {
        Unregister();
        TrySetException(error);
    }

    public void OnCompleted()
    {
        // A request always answers before it completes; this only guards against a task that would never end.
        Unregister();
        TrySetException(new InvalidOperationException("The request completed without an answer."));
    }

    private void Cancel()
    {
        // The call first, so the remote hears of it before any continuation of the cancelled task runs.
        Volatile.Read(ref _call)?.Dispose();
        TrySetCanceled(_cancellationToken);
    }

    private void Unregister()
    {
        if (Interlocked.Exchange(ref _state, Done) == Registered)
        {
            _registration.Unregister();
        }
    }
}
