namespace Grid.Reactive;

/// <summary>Adapts the Rx handler shape onto the credit-aware one every stream runs as.</summary>
internal static class StreamAdapters
{
    /// <summary>Runs the stream on <paramref name="outgoing"/>, the observable the handler returned for it.</summary>
    public static Task RunObservable(IObservable<byte[]> outgoing, ServerStream stream, CancellationToken cancellationToken)
    {
        if (outgoing is null)
        {
            throw new InvalidOperationException("The stream handler returned no observable (null).");
        }

        // Continuations run where the handler's observable ends (on the grid's dispatcher or scheduler), so a grid under a
        // TestScheduler stays deterministic; they only queue frames.
        var ended = new TaskCompletionSource();
        var subscription = outgoing.Subscribe(
            message =>
            {
                if (stream.Push(message) == Muxing.Streams.CreditWindow.PushResult.Overflow)
                {
                    ended.TrySetException(new BackpressureException(
                        $"The handler's outgoing observable ran more than its push buffer ahead of the credit of '{stream.RemoteAddress}'. Use the credit-aware RegisterStream overload to follow the caller's pace."));
                }
            },
            error => ended.TrySetException(error),
            () => ended.TrySetResult());
        if (ended.Task.IsCompleted)
        {
            subscription.Dispose();
            return ended.Task;
        }

        cancellationToken.Register(() =>
        {
            subscription.Dispose();
            ended.TrySetCanceled(cancellationToken);
        });
        _ = ended.Task.ContinueWith(_ => subscription.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return ended.Task;
    }
}
