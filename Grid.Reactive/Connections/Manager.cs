using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive.Connections;
using Grid.Reactive.Diagnostics.Logging;
using Grid.Reactive.Membership;
using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>
/// One node of a grid: knows its own address and every remote, owns one <see cref="Grid.Reactive.Connection"/> per
/// remote, and serves the handlers registered on it to all of them.
/// </summary>
/// <remarks>
/// Lifecycle: construct, register handlers (before or after starting: a call is matched to a handler when it
/// arrives), <see cref="StartAsync"/> to listen and dial, <see cref="DisposeAsync"/> to shut down. Thread-safe.
/// </remarks>
public sealed partial class Manager : IAsyncDisposable
{
    private readonly GridContext _grid;
    private readonly PeerTable _peers;
    private readonly AcceptedSessions _accepted;
    private readonly IDisposable _metrics;
    private IAsyncDisposable? _listener;
    private int _started;
    private int _disposed;

    /// <summary>Creates a manager. Nothing is listened on or dialed before <see cref="StartAsync"/>.</summary>
    /// <param name="options">The node's address, remotes, transport, authenticator and settings.</param>
    /// <exception cref="ArgumentException">An option is missing or out of range; the message says which.</exception>
    public Manager(ManagerOptions options)
    {
        Validate(options);
        _grid = new GridContext(options);
        _peers = new PeerTable(_grid);
        _accepted = new AcceptedSessions(this);
        _metrics = _grid.Metrics.Track(Address, () => Connections);
    }

    /// <summary>This node's address.</summary>
    public string Address => _grid.Address;

    /// <summary>
    /// The connections to every remote known now, one each, ordered by remote address: a snapshot (with
    /// <see cref="ManagerOptions.Membership"/>, the set changes; <see cref="Peers"/> follows it).
    /// </summary>
    public IReadOnlyCollection<Connection> Connections => _peers.All;

    /// <summary>Returns the connection to <paramref name="remote"/>.</summary>
    /// <param name="remote">A remote's address, as listed in <see cref="ManagerOptions.Remotes"/> or <see cref="ManagerOptions.Membership"/>.</param>
    /// <returns>
    /// The connection; the same object for as long as the remote stays known (a remote that left the membership and
    /// came back after its grace period has a new one).
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="remote"/> is not a remote of this manager (now).</exception>
    public Connection Connection(string remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var known = _peers.ByAddress;
        return known.TryGetValue(remote, out var connection)
            ? connection
            : throw new ArgumentException($"'{remote}' is not a remote of '{Address}'. Known remotes: {string.Join(", ", _peers.All.Select(c => c.RemoteAddress))}.", nameof(remote));
    }

    /// <summary>Serves single requests for <paramref name="handler"/> (and <paramref name="subroute"/>) from every remote.</summary>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="serve">Runs once per request, off the connection's reader.</param>
    /// <param name="subroute">An optional static subroute, so one handler id can be served several times.</param>
    /// <returns>Disposing it unregisters the handler; calls already running finish.</returns>
    /// <exception cref="InvalidOperationException">A handler is already registered for this id and subroute.</exception>
    // Preferred when a lambda fits both this and the context overload (say, one that ignores its second parameter).
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)]
    public IDisposable Register(HandlerId handler, RequestHandler serve, string? subroute = null) =>
        _grid.Handlers.AddSingle(handler, subroute, serve);

    /// <summary>
    /// Serves single requests with a handler that sees its call's <see cref="RequestContext"/>: the caller's address,
    /// the subroute, the deadline and the cancellation token. The context is built only for handlers registered this way.
    /// </summary>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="serve">Runs once per request, off the connection's reader, with the context and the payload. Throwing a <see cref="GridErrorException"/> gives the caller its error code.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <returns>Disposing it unregisters the handler; calls already running finish.</returns>
    /// <exception cref="InvalidOperationException">A handler is already registered for this id and subroute.</exception>
    public IDisposable Register(HandlerId handler, Func<RequestContext, byte[], ValueTask<byte[]>> serve, string? subroute = null) =>
        _grid.Handlers.AddSingle(handler, subroute, serve);

    /// <summary>
    /// Serves single requests with an observable: its first element is the answer. Cancelling the call disposes the
    /// subscription; a sequence that ends without an element, or errors, is a remote error for the caller.
    /// </summary>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="serve">Called once per request, off the connection's reader; subscribed once.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <returns>Disposing it unregisters the handler.</returns>
    /// <exception cref="InvalidOperationException">A handler is already registered for this id and subroute.</exception>
    public IDisposable Register(HandlerId handler, Func<byte[], IObservable<byte[]>> serve, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(serve);
        return Register(handler, (payload, cancellationToken) => new ValueTask<byte[]>(serve(payload).FirstAsync().ToTask(cancellationToken)), subroute);
    }

    /// <summary>
    /// Serves streams for <paramref name="handler"/> the Rx way: a function from the caller's initial payload and its
    /// incoming messages to the messages to send back. The stream ends when the returned observable ends (or errors,
    /// which the caller sees as a <see cref="RemoteException"/>); the caller cancelling disposes its subscription.
    /// </summary>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="serve">
    /// Called once per stream, off the connection's reader. Incoming messages are pushed as the caller sends them;
    /// credit returns to the caller as each <c>OnNext</c> returns. The returned observable may push ahead of the
    /// caller's credit by <see cref="StreamHandlerOptions.PushBufferCapacity"/> messages, after which the stream fails
    /// with <see cref="BackpressureException"/>: a producer that can outrun its caller should use the credit-aware overload.
    /// Throwing at once refuses the stream.
    /// </param>
    /// <param name="options">The windows; defaults when null. <see cref="StreamHandlerOptions.InCapacity"/> 0 makes a push-only stream.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <returns>Disposing it unregisters the handler; open streams go on.</returns>
    /// <exception cref="InvalidOperationException">A stream handler is already registered for this id and subroute.</exception>
    public IDisposable RegisterStream(HandlerId handler, Func<byte[], IObservable<byte[]>, IObservable<byte[]>> serve,
        StreamHandlerOptions? options = null, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(serve);
        return RegisterStream(handler, (stream, cancellationToken) =>
            StreamAdapters.RunObservable(serve(stream.Payload, stream.Incoming), stream, cancellationToken), options, subroute);
    }

    /// <summary>
    /// Serves streams the Rx way with the stream's <see cref="RequestContext"/>: the caller's address, the handler id
    /// and subroute it opened (so one function can serve several subroutes), its deadline (null when the caller set
    /// none) and its cancellation. Otherwise as
    /// <see cref="RegisterStream(HandlerId, Func{byte[], IObservable{byte[]}, IObservable{byte[]}}, StreamHandlerOptions?, string?)"/>.
    /// </summary>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="serve">
    /// Called once per stream, off the connection's reader, with the context, the caller's initial payload and its
    /// incoming messages; returns the messages to send back (pushed at most
    /// <see cref="StreamHandlerOptions.PushBufferCapacity"/> messages ahead of the caller's credit). The context's
    /// token fires when the caller cancels, the deadline passes or the connection is lost; the returned observable's
    /// subscription is disposed then. Throwing at once refuses the stream.
    /// </param>
    /// <param name="options">The windows; defaults when null. <see cref="StreamHandlerOptions.InCapacity"/> 0 makes a push-only stream.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <returns>Disposing it unregisters the handler; open streams go on.</returns>
    /// <exception cref="InvalidOperationException">A stream handler is already registered for this id and subroute.</exception>
    public IDisposable RegisterStream(HandlerId handler, Func<RequestContext, byte[], IObservable<byte[]>, IObservable<byte[]>> serve,
        StreamHandlerOptions? options = null, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(serve);
        return RegisterStream(handler, (stream, cancellationToken) =>
            StreamAdapters.RunObservable(serve(stream.Context, stream.Payload, stream.Incoming), stream, cancellationToken), options, subroute);
    }

    /// <summary>
    /// Serves streams for <paramref name="handler"/> with a credit-aware function: it reads the caller's messages
    /// (pushed or pulled) and awaits <see cref="ServerStream.SendAsync"/>, which completes only when the caller has
    /// credit, so it never runs ahead of its caller. The stream ends when the task does: normally, or with its
    /// exception, which the caller sees as a <see cref="RemoteException"/>.
    /// </summary>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="serve">Called once per stream, off the connection's reader. A task faulted at once refuses the stream.</param>
    /// <param name="options">The windows; defaults when null.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <returns>Disposing it unregisters the handler; open streams go on.</returns>
    /// <exception cref="InvalidOperationException">A stream handler is already registered for this id and subroute.</exception>
    public IDisposable RegisterStream(HandlerId handler, Func<ServerStream, CancellationToken, Task> serve,
        StreamHandlerOptions? options = null, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(serve);
        return _grid.Handlers.AddStream(handler, subroute, new Handlers.StreamRegistration(serve, options ?? new StreamHandlerOptions()));
    }

    /// <summary>Starts listening at <see cref="Address"/> and dialing the remotes this node dials.</summary>
    /// <param name="cancellationToken">Cancels starting the listener.</param>
    /// <returns>Completes once the node accepts links.</returns>
    /// <exception cref="InvalidOperationException">The manager was already started or disposed.</exception>
    public async ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Manager '{Address}' was already started.");
        }

        var listener = await _grid.Options.Transport.ListenAsync(Address, _grid.LinkSettings, OnAccepted, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _listener, listener);
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposed while the listener started: whichever of the two takes the listener stops it.
            if (Interlocked.Exchange(ref _listener, null) is { } orphan)
            {
                await orphan.DisposeAsync().ConfigureAwait(false);
            }

            throw new ObjectDisposedException(nameof(Manager), $"Manager '{Address}' was disposed while it started.");
        }

        _peers.Start();
    }

    /// <summary>
    /// Stops in order: takes no new calls (this node's new calls fail with <see cref="DisconnectedException"/>, the
    /// peers' are refused with it), tells every peer it is going away (they stop sending new calls here and do not
    /// count it a lost link), waits up to <paramref name="drainTimeout"/> for the calls and streams in flight both ways
    /// to finish, then shuts down as <see cref="DisposeAsync"/> does. Idempotent; a no-op after disposal.
    /// </summary>
    /// <param name="drainTimeout">
    /// Longest wait for calls in flight, on the grid's scheduler; <see cref="Timeout.InfiniteTimeSpan"/> (or anything
    /// over a day) waits as long as they take. Zero goes straight to the hard stop.
    /// </param>
    /// <param name="cancellationToken">Cuts the wait short; the hard stop still runs.</param>
    /// <returns>Completes when the node is shut down.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="drainTimeout"/> is negative (other than infinite).</exception>
    public async ValueTask StopAsync(TimeSpan drainTimeout, CancellationToken cancellationToken = default)
    {
        if (drainTimeout < TimeSpan.Zero && drainTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(drainTimeout), drainTimeout, "The drain timeout must not be negative.");
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        _grid.Stopping = true;
        foreach (var connection in _peers.All)
        {
            connection.CurrentSession?.GoAway();
        }

        if (drainTimeout != TimeSpan.Zero && PendingCalls() > 0)
        {
            // Checked on the grid's scheduler, so a stop in virtual time drains in virtual time.
            var scheduler = _grid.Scheduler;
            var drained = Observable.Interval(DrainPoll, scheduler).StartWith(0).Where(_ => PendingCalls() == 0).Select(_ => true);
            var waited = drainTimeout == Timeout.InfiniteTimeSpan || drainTimeout > TimeSpan.FromDays(1)
                ? drained
                : drained.Amb(Observable.Timer(drainTimeout, scheduler).Select(_ => false));
            try
            {
                if (!await waited.FirstAsync().ToTask(cancellationToken).ConfigureAwait(false))
                {
                    ManagerLog.DrainTimedOut(_grid.Logs.Manager, Address, PendingCalls(), drainTimeout);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Shuts down at once: stops dialing and listening, closes every connection (they end in
    /// <see cref="ConnectionState.ShutDown"/>), fails every call in flight with <see cref="DisconnectedException"/> and
    /// cancels every handler. Each peer is told with a goodbye written after what was already queued for it, so it sees
    /// an orderly end, not a lost link. For a stop that first lets calls in flight finish, use <see cref="StopAsync"/>.
    /// Idempotent.
    /// </summary>
    /// <returns>Completes when the goodbyes are written (or a short bound passed) and the listener has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _grid.Stopping = true;
        _metrics.Dispose();
        var closing = new List<Task>();
        foreach (var connection in _peers.Close())
        {
            if (connection.CurrentSession is { } session)
            {
                closing.Add(session.LinkEnded);
            }

            connection.Shutdown();
        }

        _accepted.CloseAll();
        try
        {
            // Wall-clock bound on socket writes, not protocol time: a peer that does not read cannot hold the stop.
            await Task.WhenAll(closing).WaitAsync(GridTransport.OrderlyCloseBound).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        if (Interlocked.Exchange(ref _listener, null) is { } listener)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Accepted links waiting for their handshake (for tests).</summary>
    internal int PendingHandshakes => _accepted.Pending;

    /// <summary>Calls in flight on this node, both ways; 0 once every call has ended (for tests and simulation).</summary>
    internal int PendingCalls()
    {
        var pending = 0;
        foreach (var connection in _peers.All)
        {
            if (connection.CurrentSession is { } session)
            {
                pending += session.PendingOutgoing + session.PendingIncoming + session.PendingStreams;
            }
        }

        return pending;
    }

    private void OnAccepted(ILink link)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            link.Close(new DisconnectedException($"'{Address}' is shutting down."));
            return;
        }

        _accepted.Accept(link);
    }

    private static void Validate(ManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Address))
        {
            throw new ArgumentException("ManagerOptions.Address is required.", nameof(options));
        }

        if (options.Remotes is null || options.Transport is null || options.Authenticator is null || options.Scheduler is null || options.Reconnect is null)
        {
            throw new ArgumentException("ManagerOptions needs Remotes, Transport, Authenticator, Scheduler and Reconnect.", nameof(options));
        }

        ValidateMembership(options);

        if (options.Remotes.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("ManagerOptions.Remotes holds an empty address.", nameof(options));
        }

        if (options.DefaultRequestTimeout <= TimeSpan.Zero || options.PingInterval <= TimeSpan.Zero
            || options.HandshakeTimeout <= TimeSpan.Zero || options.MaxClockSkew < TimeSpan.Zero)
        {
            throw new ArgumentException("ManagerOptions timeouts and intervals must be positive.", nameof(options));
        }

        if (options.StreamPingInterval <= TimeSpan.Zero || options.StreamTimeout < options.StreamPingInterval)
        {
            throw new ArgumentException("ManagerOptions needs 0 < StreamPingInterval <= StreamTimeout.", nameof(options));
        }

        if (options.PingTimeout < options.PingInterval)
        {
            throw new ArgumentException("ManagerOptions.PingTimeout must be at least PingInterval.", nameof(options));
        }

        if (options.MaxMessageSize < 4096 || options.MaxMergedMessageSize < 256 || options.MaxMergedMessageSize > options.MaxMessageSize || options.MaxMergedFrames < 1)
        {
            throw new ArgumentException("ManagerOptions needs MaxMessageSize >= 4096 and 256 <= MaxMergedMessageSize <= MaxMessageSize, MaxMergedFrames >= 1.", nameof(options));
        }

        if (options.MaxQueuedBytes < options.MaxMergedMessageSize || options.MaxCallsInFlight < 1 || options.MaxPendingHandshakes < 1)
        {
            throw new ArgumentException("ManagerOptions needs MaxQueuedBytes >= MaxMergedMessageSize, MaxCallsInFlight >= 1 and MaxPendingHandshakes >= 1.", nameof(options));
        }

        options.Reconnect.Validate();
    }
}
