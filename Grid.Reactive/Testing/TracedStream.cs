using System.Globalization;
using System.Reactive.Disposables;
using System.Reactive.Subjects;

namespace Grid.Reactive.Testing;

/// <summary>
/// A stream made through <see cref="SimulatedGrid.Stream"/>: the <see cref="ClientStream"/> in <see cref="Inner"/>,
/// whose subscription (the open) and whose one end, with how many messages came before it, go into the grid's trace.
/// Send to it and end its input here as on the stream itself.
/// </summary>
/// <remarks>
/// Notifications pass through as they come, unfiltered, so a test that checks the stream's grammar sees a second
/// ending if the grid ever produced one; the trace records it too. Subscribing <see cref="Inner"/> directly opens the
/// stream untraced.
/// </remarks>
public sealed class TracedStream : ISubject<byte[], byte[]>
{
    private readonly SimulatedGrid _grid;
    private readonly string _from;
    private readonly string _to;
    private readonly HandlerId _handler;
    private int _subscribed;

    internal TracedStream(SimulatedGrid grid, string from, string to, HandlerId handler, ClientStream inner)
    {
        _grid = grid;
        _from = from;
        _to = to;
        _handler = handler;
        Inner = inner;
    }

    /// <summary>The stream itself.</summary>
    public ClientStream Inner { get; }

    /// <summary>The credit left to send, as <see cref="ClientStream.Credit"/>.</summary>
    public IObservable<int> Credit => Inner.Credit;

    /// <summary>Opens the stream, as <see cref="ClientStream.Subscribe"/>, and traces its start and its end.</summary>
    /// <param name="observer">Receives the remote's messages, in order.</param>
    /// <returns>Disposing it cancels the stream on both sides (traced as cancelled, unless it had ended).</returns>
    /// <exception cref="InvalidOperationException">The stream was already subscribed.</exception>
    public IDisposable Subscribe(IObserver<byte[]> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (Interlocked.Exchange(ref _subscribed, 1) != 0)
        {
            throw new InvalidOperationException("A stream is opened by its one subscription; share it with Publish if several observers need it.");
        }

        var id = _grid.NextCallId();
        _grid.Record(SimulationEventKind.StreamStarted, _from, _to, string.Create(CultureInfo.InvariantCulture, $"#{id} handler {_handler}"));
        var traced = new Observer(this, id, observer);
        var subscription = Inner.Subscribe(traced);
        return Disposable.Create(() =>
        {
            traced.End("cancelled");
            subscription.Dispose();
        });
    }

    /// <summary>Pushes a message, as <see cref="ClientStream.OnNext"/>.</summary>
    /// <param name="value">The message.</param>
    public void OnNext(byte[] value) => Inner.OnNext(value);

    /// <summary>Ends the input, as <see cref="ClientStream.OnCompleted"/>.</summary>
    public void OnCompleted() => Inner.OnCompleted();

    /// <summary>Cancels the stream with <paramref name="error"/>, as <see cref="ClientStream.OnError"/>.</summary>
    /// <param name="error">Why.</param>
    public void OnError(Exception error) => Inner.OnError(error);

    /// <summary>Sends a message once the remote has credit for it, as <see cref="ClientStream.SendAsync"/>.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Gives up waiting for credit.</param>
    /// <returns>Completes when the message is handed to the connection.</returns>
    public ValueTask SendAsync(byte[] message, CancellationToken cancellationToken = default) => Inner.SendAsync(message, cancellationToken);

    private sealed class Observer(TracedStream stream, long id, IObserver<byte[]> inner) : IObserver<byte[]>
    {
        private int _messages;
        private bool _ended;

        public void OnNext(byte[] value)
        {
            _messages++;
            inner.OnNext(value);
        }

        public void OnError(Exception error)
        {
            End(error.GetType().Name);
            inner.OnError(error);
        }

        public void OnCompleted()
        {
            End("completed");
            inner.OnCompleted();
        }

        /// <summary>Records the stream's end; a cancel after the end is not one, any other second end is traced as such.</summary>
        public void End(string how)
        {
            if (_ended && how == "cancelled")
            {
                return;
            }

            stream._grid.Record(SimulationEventKind.StreamEnded, stream._from, stream._to,
                string.Create(CultureInfo.InvariantCulture, $"#{id} {how} after {_messages} messages{(_ended ? " (again)" : "")}"));
            _ended = true;
        }
    }
}
