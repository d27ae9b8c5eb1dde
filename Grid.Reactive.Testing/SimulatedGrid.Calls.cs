namespace Grid.Reactive.Testing;

/// <summary>The grid's traced calls and streams: like the connection's own, with their start and end in the trace.</summary>
public sealed partial class SimulatedGrid
{
    /// <summary>
    /// A traced <see cref="Connection.Request"/> from <paramref name="from"/> to <paramref name="to"/>: each
    /// subscription is a call on the manager up at <paramref name="from"/> at that moment, whose start and end go into
    /// the trace. It fails at once with <see cref="DisconnectedException"/> while <paramref name="from"/> is down, or
    /// when <paramref name="to"/> is not in the membership as <paramref name="from"/> sees it.
    /// </summary>
    /// <param name="from">The calling node.</param>
    /// <param name="to">The called node.</param>
    /// <param name="handler">The remote handler.</param>
    /// <param name="payload">The request payload.</param>
    /// <param name="timeout">The deadline; default the caller's <see cref="ManagerOptions.DefaultRequestTimeout"/>.</param>
    /// <param name="subroute">The handler's subroute, or null.</param>
    /// <returns>The cold call, as <see cref="Connection.Request"/> returns it.</returns>
    public IObservable<byte[]> Request(string from, string to, HandlerId handler, byte[] payload, TimeSpan? timeout = null, string? subroute = null)
    {
        Pair(from, to);
        ArgumentNullException.ThrowIfNull(payload);
        return new TracedRequest(this, from, to, handler, payload, timeout, subroute);
    }

    /// <summary>
    /// A traced <see cref="Connection.NewStream"/> from <paramref name="from"/> to <paramref name="to"/>, made on the
    /// manager at <paramref name="from"/> now: its subscription (the open) and its one end go into the trace. While
    /// <paramref name="from"/> is down the stream is made on its last manager, and fails with
    /// <see cref="DisconnectedException"/> when subscribed.
    /// </summary>
    /// <param name="from">The calling node.</param>
    /// <param name="to">The called node.</param>
    /// <param name="handler">The remote stream handler.</param>
    /// <param name="payload">The initial payload; empty when null.</param>
    /// <param name="options">Deadline and push buffer; defaults when null (no deadline).</param>
    /// <param name="subroute">The handler's subroute, or null.</param>
    /// <returns>The stream, not yet open: subscribe once to open it.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="from"/> was never started.</exception>
    public TracedStream Stream(string from, string to, HandlerId handler, byte[]? payload = null, StreamOptions? options = null, string? subroute = null)
    {
        Pair(from, to);
        var stream = this[from].Connection(to).NewStream(handler, payload, options, subroute);
        return new TracedStream(this, from, to, handler, stream);
    }
}
