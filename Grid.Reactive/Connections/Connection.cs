using System.Globalization;
using System.Reactive;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text;
using Grid.Reactive.Connections;
using Grid.Reactive.Diagnostics.Logging;
using Grid.Reactive.Muxing;

namespace Grid.Reactive;

/// <summary>
/// This node's one connection to one remote node, obtained from <see cref="Manager.Connection(string)"/>. Both
/// nodes issue and serve calls on it. Subscribing observes its <see cref="ConnectionState"/>: the current state
/// replays at once, then every change, completing after <see cref="ConnectionState.ShutDown"/>.
/// </summary>
/// <remarks>
/// Which node dials is decided from the two addresses (see <see cref="IsDialer"/>); the dialing side redials after
/// every loss with exponential backoff and jitter (<see cref="ManagerOptions.Reconnect"/>), the other waits to be
/// dialed. Nobody calls a reconnect method. Every observer (of states, of frames) gets its notifications in order off
/// the connection's protocol and timer code, through its own guarded queue: one that throws or blocks affects only
/// itself (a throw is logged), never the connection, its redials or other observers.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The subjects end with the manager: Shutdown completes them.")]
public sealed partial class Connection : IObservable<ConnectionState>
{
    private readonly GridContext _grid;
    private readonly Subject<ConnectionState> _changes = new();
    private volatile ConnectionState _state = ConnectionState.NotConnected;
    private readonly Subject<Frame> _framesIn = new();
    private readonly Subject<Frame> _framesOut = new();
    private readonly Lock _gate = new();
    private readonly Random _jitter;
    private Session? _session;
    private IDisposable? _dialing;
    private Exception? _lastError;
    private bool _shutDown;
    private int _failures;
    private string? _unreachableReason; // set while the dials fail for the reason last told at Warning
    private int _failedDials;            // failed dials since the last connect, for the "reachable again" line
    private long _connectedAtTicks = -1;
    private string? _retired;

    internal Connection(GridContext grid, string remote)
    {
        _grid = grid;
        RemoteAddress = remote;
        IsDialer = DialDirection.ShouldDial(grid.Address, remote);
        var seed = grid.Options.Reconnect.Seed;
        _jitter = seed is null ? new Random() : new Random(GridContext.StableSeed(seed.Value, grid.Address + "\n" + remote));
    }

    /// <summary>This node's address.</summary>
    public string LocalAddress => _grid.Address;

    /// <summary>The remote node's address.</summary>
    public string RemoteAddress { get; }

    /// <summary>
    /// True when this node dials the remote; false when it waits to be dialed. Both nodes compute it the same way
    /// from the two addresses, so exactly one of them dials.
    /// </summary>
    public bool IsDialer { get; }

    /// <summary>The current state.</summary>
    public ConnectionState State => _state;

    /// <summary>Why the connection was last lost or last failed to connect; null if it never was.</summary>
    public Exception? LastError => Volatile.Read(ref _lastError);

    /// <summary>
    /// Every frame received on this connection, for tracing, in order, with a payload copied for the observer; costs
    /// nothing while nobody subscribes. An observer slower than the link loses the oldest frames beyond
    /// <see cref="TraceCapacity"/> (logged), and never slows the connection.
    /// </summary>
    public IObservable<Frame> FramesIn => Trace(_framesIn);

    /// <summary>Every frame written to this connection's link, for tracing, as <see cref="FramesIn"/>.</summary>
    public IObservable<Frame> FramesOut => Trace(_framesOut);

    /// <summary>Most frames held for one slow trace observer (see <see cref="FramesIn"/>).</summary>
    public const int TraceCapacity = 4096;

    internal Session? CurrentSession => Volatile.Read(ref _session);

    /// <summary>
    /// Makes a single request: a cold observable whose every subscription sends one request and yields exactly one
    /// response and completes, or one error. Disposing the subscription cancels the call: no notification follows,
    /// a late answer is discarded, and the remote handler's cancellation token fires. An outcome already being
    /// delivered on another thread finishes before <c>Dispose</c> returns (as with a cancellation registration), so
    /// nothing of the call runs after it; disposing from inside <c>OnNext</c> skips the <c>OnCompleted</c>.
    /// </summary>
    /// <param name="handler">The remote handler to call.</param>
    /// <param name="payload">The request payload. Not copied: do not change it while the call is in flight.</param>
    /// <param name="timeout">
    /// The deadline, sent to the remote (its handler's token fires then) and enforced here on the grid's scheduler.
    /// Default <see cref="ManagerOptions.DefaultRequestTimeout"/>.
    /// </param>
    /// <param name="subroute">The handler's static subroute, or null.</param>
    /// <returns>The response, delivered off the connection's reader, so a slow observer stalls no other call.</returns>
    /// <remarks>
    /// Errors: <see cref="DisconnectedException"/> when not connected at subscription (at once, nothing is queued) or
    /// when the connection is lost in flight; <see cref="DeadlineExceededException"/> at the deadline;
    /// <see cref="RemoteException"/> when the handler failed; <see cref="HandlerNotFoundException"/> when the remote
    /// has no such handler.
    /// </remarks>
    /// <exception cref="ArgumentException">The payload is larger than <see cref="ManagerOptions.MaxMessageSize"/> allows, the subroute is empty or too long, or the handler id is the default.</exception>
    public IObservable<byte[]> Request(HandlerId handler, byte[] payload, TimeSpan? timeout = null, string? subroute = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ValidateCall(handler, payload, subroute);
        var deadline = timeout ?? _grid.Options.DefaultRequestTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(deadline, TimeSpan.Zero, nameof(timeout));
        return new RequestObservable(this, handler, payload, deadline, subroute);
    }

    /// <summary>
    /// Makes a single request and awaits its answer: the same call as one subscription to <see cref="Request"/>, as a
    /// task. Cancelling <paramref name="cancellationToken"/> cancels the call on both sides, as disposing the
    /// subscription does (the remote handler's token fires, a late answer is discarded), and cancels the task.
    /// </summary>
    /// <param name="handler">The remote handler to call.</param>
    /// <param name="payload">The request payload. Not copied: do not change it while the call is in flight.</param>
    /// <param name="timeout">The deadline (see <see cref="Request"/>); <see cref="ManagerOptions.DefaultRequestTimeout"/> when null.</param>
    /// <param name="subroute">The handler's subroute, or null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The response. Faults with the errors <see cref="Request"/> reports; a token already cancelled sends nothing.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Request"/>, thrown at once.</exception>
    public Task<byte[]> RequestAsync(HandlerId handler, byte[] payload, TimeSpan? timeout = null, string? subroute = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ValidateCall(handler, payload, subroute);
        var deadline = timeout ?? _grid.Options.DefaultRequestTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(deadline, TimeSpan.Zero, nameof(timeout));
        return RequestCompletion.Start(this, handler, payload, deadline, subroute, cancellationToken);
    }

    /// <summary>
    /// Prepares a two-way stream to <paramref name="handler"/>; subscribing to the result opens it (see
    /// <see cref="ClientStream"/>). Messages sent before the subscription wait for the remote's first credit.
    /// </summary>
    /// <param name="handler">The remote stream handler.</param>
    /// <param name="payload">The initial payload sent with the open; empty when null. Not copied.</param>
    /// <param name="options">Deadline and push buffer; defaults when null (no deadline).</param>
    /// <param name="subroute">The handler's static subroute, or null.</param>
    /// <returns>The stream, not yet open.</returns>
    /// <exception cref="ArgumentException">The payload is too large, the subroute is empty or too long, or the handler id is the default.</exception>
    public ClientStream NewStream(HandlerId handler, byte[]? payload = null, StreamOptions? options = null, string? subroute = null)
    {
        payload ??= [];
        ValidateCall(handler, payload, subroute);
        options ??= new StreamOptions();
        if (options.Timeout is { } timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.PushBufferCapacity, nameof(options));
        return new ClientStream(this, handler, payload, options, subroute, _grid.MaxPayload, _grid.User, _grid.Metrics.CreditWaits);
    }

    /// <summary>Observes the connection's state: the current one at once, then each change.</summary>
    /// <param name="observer">The observer.</param>
    /// <returns>Disposing it stops the observation.</returns>
    public IDisposable Subscribe(IObserver<ConnectionState> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var serial = _grid.User.Serial(observer, StateCapacity);
        IDisposable subscription;
        lock (_gate)
        {
            // The current state is held for delivery here, on the subscriber's thread; changes after it queue behind it.
            serial.Hold(_state);
            if (_shutDown)
            {
                serial.OnCompleted();
                subscription = System.Reactive.Disposables.Disposable.Empty;
            }
            else
            {
                subscription = _changes.Subscribe(serial);
            }
        }

        serial.DeliverQueuedHere();
        return subscription;
    }

    // State changes are paced by dials and backoff; a blocked observer holds at most this many.
    private const int StateCapacity = 1024;

    private IObservable<Frame> Trace(Subject<Frame> frames) => Observable.Create<Frame>(observer =>
    {
        var serial = _grid.User.Serial(observer, TraceCapacity);
        return frames.Subscribe(
            frame => serial.OnNext(new Frame(frame.Op, frame.MuxId, frame.Seq, frame.DeadlineMs, frame.HandlerId, frame.Flags,
                frame.Payload.IsEmpty ? default : frame.Payload.ToArray(), frame.Subroute)
            {
                TraceContext = frame.TraceContext.IsEmpty ? default : frame.TraceContext.ToArray(),
            }),
            serial.OnError,
            serial.OnCompleted);
    });

    /// <summary>Returns a description such as "a:1 -> b:2 (Connected)".</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"{LocalAddress} -> {RemoteAddress} ({State})";

    /// <summary>
    /// Makes <paramref name="session"/>, which passed its handshake, the connection's session; any thread. A newer
    /// session replaces a live one only when the peer proved it restarted (another instance id) or the live one's link
    /// is dead (nothing heard for <see cref="DeadAfter"/>): a second session from the same live instance is refused,
    /// so that nobody can take over a working connection by handshaking again.
    /// </summary>
    /// <returns>Null when attached; otherwise why not (the session then refuses its peer).</returns>
    internal Refusal? Attach(Session session)
    {
        Session? replaced;
        lock (_gate)
        {
            if (_shutDown)
            {
                return new Refusal("shutdown", $"The connection {LocalAddress} <-> {RemoteAddress} was shut down.");
            }

            replaced = _session;
            if (replaced is not null && replaced.IsOpen && replaced.RemoteInstanceId == session.RemoteInstanceId)
            {
                var silence = TimeSpan.FromTicks(_grid.Scheduler.Now.UtcTicks - replaced.LastHeardTicks);
                if (silence < DeadAfter)
                {
                    return new Refusal("duplicate", string.Create(CultureInfo.InvariantCulture,
                        $"'{RemoteAddress}' opened a second link ({session.Describe}) while its link {replaced.Describe} is live (heard from {silence} ago) and the peer has not restarted (same instance id); the live one stays"));
                }
            }

            // The proof that opens the acceptor's side goes out before anything a caller queues once the session is visible.
            session.SendOpening();
            session.SetTraces(_framesIn, _framesOut);
            Volatile.Write(ref _session, session);
            _connectedAtTicks = _grid.Scheduler.Now.UtcTicks;
            SetState(ConnectionState.Connected);
            if (_unreachableReason is not null)
            {
                ConnectionLog.PeerReachable(_grid.Logs.Connection, LocalAddress, RemoteAddress, _failedDials);
            }

            _unreachableReason = null;
            _failedDials = 0;
        }

        if (IsDialer)
        {
            _grid.Metrics.Dial("connected", null);
        }

        // The peer restarted, or redialled after the old link died before we noticed.
        replaced?.Close(new DisconnectedException($"The link {replaced.Describe} was replaced by a newer one."));
        return null;
    }

    /// <summary>A link on which nothing was heard for this long counts as dead when a new one from the same peer instance arrives: two ping intervals, at most the ping timeout.</summary>
    private TimeSpan DeadAfter => TimeSpan.FromTicks(Math.Min(_grid.Options.PingInterval.Ticks * 2, _grid.Options.PingTimeout.Ticks));

    internal void Detach(Session session, Exception reason)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_session, session))
            {
                return;
            }

            Volatile.Write(ref _lastError, reason);
            Volatile.Write(ref _session, null);
            if (!_shutDown)
            {
                ConnectionLog.Disconnected(_grid.Logs.Connection, LocalAddress, RemoteAddress, reason.Message);
                SetState(ConnectionState.Disconnected);
            }
        }
    }

    internal void SetState(ConnectionState state)
    {
        lock (_gate)
        {
            if (!_shutDown && _state != state)
            {
                _state = state;
                _changes.OnNext(state);
            }
        }
    }

    /// <summary>Ends the connection for good (<see cref="ConnectionState.ShutDown"/>).</summary>
    /// <param name="retired">Why, when the peer left the membership: calls in flight fail with it, and the peer is told; null when this node stops.</param>
    internal void Shutdown(string? retired = null)
    {
        Session? session;
        IDisposable? dialing;
        lock (_gate)
        {
            if (_shutDown)
            {
                return;
            }

            _shutDown = true;
            session = _session;
            dialing = _dialing;
            Volatile.Write(ref _session, null);
        }

        var reason = new DisconnectedException(retired ?? $"The connection {LocalAddress} <-> {RemoteAddress} was shut down.");
        if (retired is not null)
        {
            Volatile.Write(ref _retired, retired);
            Volatile.Write(ref _lastError, reason);
        }

        dialing?.Dispose();
        if (session is not null)
        {
            session.Send(new Frame(Op.Disconnect, payload: Encoding.UTF8.GetBytes(retired?.TrimEnd('.') ?? "shutting down")));
            session.Close(reason, orderly: true);
        }

        lock (_gate)
        {
            _state = ConnectionState.ShutDown;
            _changes.OnNext(ConnectionState.ShutDown);
            _changes.OnCompleted();
        }

        _framesIn.OnCompleted();
        _framesOut.OnCompleted();
    }

    /// <summary>The error of a call made while not connected; for a retired connection, it says the peer left the membership.</summary>
    internal DisconnectedException NotConnected() => Volatile.Read(ref _retired) is { } retired
        ? new DisconnectedException($"Not connected to '{RemoteAddress}': {retired}")
        : new DisconnectedException($"Not connected to '{RemoteAddress}' (the connection is {State}).");

    private void ValidateCall(HandlerId handler, byte[] payload, string? subroute)
    {
        if (handler.Value == 0)
        {
            throw new ArgumentException("The default HandlerId names no handler.", nameof(handler));
        }

        var limit = _grid.MaxPayload;
        if (payload.Length > limit)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"A payload of {payload.Length} bytes is larger than the {limit} bytes MaxMessageSize allows."), nameof(payload));
        }

        Handlers.HandlerRegistry.ValidateSubroute(subroute);
    }
}
