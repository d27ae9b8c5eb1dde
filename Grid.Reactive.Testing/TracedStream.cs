using System.Globalization;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using System.Runtime.CompilerServices;

namespace Grid.Reactive.Testing;

/// <summary>
/// A stream made through <see cref="SimulatedGrid.Stream"/>: the <see cref="ClientStream"/> in <see cref="Inner"/>,
/// whose subscription (the open) and whose one end, with how many messages came before it, go into the grid's trace.
/// Send to it and end its input here as on the stream itself; observe it or read it (<see cref="ReadAllAsync"/>), once.
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
        var traced = Start(observer);
        var subscription = Inner.Subscribe(traced);
        return Disposable.Create(() =>
        {
            traced.End("cancelled");
            subscription.Dispose();
        });
    }

    /// <summary>
    /// Opens the stream and pulls its messages, as <see cref="ClientStream.ReadAllAsync"/>, and traces its start and
    /// its end: completed, the error it threw, or cancelled when the reader left early.
    /// </summary>
    /// <param name="cancellationToken">Cancels the stream.</param>
    /// <returns>The remote's messages.</returns>
    /// <exception cref="InvalidOperationException">The stream was already subscribed or read.</exception>
    public async IAsyncEnumerable<byte[]> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var traced = Start(null);
        var ended = false;
        var messages = Inner.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await messages.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    ended = true;
                    traced.OnError(ex);
                    throw;
                }

                if (!more)
                {
                    ended = true;
                    traced.OnCompleted();
                    yield break;
                }

                traced.OnNext(messages.Current);
                yield return messages.Current;
            }
        }
        finally
        {
            if (!ended)
            {
                traced.End("cancelled");
            }

            await messages.DisposeAsync().ConfigureAwait(false);
        }
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

    /// <summary>Claims the stream's one opening and traces it; returns what traces its end.</summary>
    private Observer Start(IObserver<byte[]>? inner)
    {
        if (Interlocked.Exchange(ref _subscribed, 1) != 0)
        {
            throw new InvalidOperationException("A stream is opened by its one subscription or reader; share it with Publish if several observers need it.");
        }

        var id = _grid.NextCallId();
        _grid.Record(SimulationEventKind.StreamStarted, _from, _to, string.Create(CultureInfo.InvariantCulture, $"#{id} handler {_handler}"));
        return new Observer(this, id, inner);
    }

    /// <summary>Counts the messages and traces the end, passing everything on to the subscriber, if any.</summary>
    private sealed class Observer(TracedStream stream, long id, IObserver<byte[]>? inner) : IObserver<byte[]>
    {
        private int _messages;
        private bool _ended;

        public void OnNext(byte[] value)
        {
            _messages++;
            inner?.OnNext(value);
        }

        public void OnError(Exception error)
        {
            End(error.GetType().Name);
            inner?.OnError(error);
        }

        public void OnCompleted()
        {
            End("completed");
            inner?.OnCompleted();
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
