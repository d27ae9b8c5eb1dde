using System.Reactive;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Connections;

/// <summary>
/// One dial of a connection, as an observable: subscribing dials and handshakes (bounded by the handshake timeout
/// on the grid's scheduler), the connection adopts the session once it opens, and the observable errors when the
/// attempt fails or the session later ends. It never completes, so the connection's <c>RetryWhen</c> pipeline
/// redials after every end; disposing it abandons the dial or closes the session.
/// </summary>
internal sealed class ConnectAttempt : ISessionOwner, IDisposable
{
    private readonly Connection _connection;
    private readonly GridContext _grid;
    private readonly IObserver<Unit> _observer;
    private readonly CancellationTokenSource _dialCancellation = new();
    private readonly Lock _gate = new();
    private readonly Subject<Frame> _traceIn;
    private readonly Subject<Frame> _traceOut;
    private IDisposable? _timeout;
    private Session? _session;
    private bool _disposed;
    private int _ended;

    private ConnectAttempt(Connection connection, GridContext grid, IObserver<Unit> observer, Subject<Frame> traceIn, Subject<Frame> traceOut)
    {
        _connection = connection;
        _grid = grid;
        _observer = observer;
        _traceIn = traceIn;
        _traceOut = traceOut;
    }

    public static IObservable<Unit> Create(Connection connection, GridContext grid, Subject<Frame> traceIn, Subject<Frame> traceOut) =>
        Observable.Create<Unit>(observer =>
        {
            var attempt = new ConnectAttempt(connection, grid, observer, traceIn, traceOut);
            attempt.Run();
            return attempt;
        });

    public Refusal? OnOpened(Session session)
    {
        _timeout?.Dispose();
        return _connection.Attach(session);
    }

    public void OnClosed(Session session, Exception reason)
    {
        _connection.Detach(session, reason);
        End(reason);
    }

    public void Dispose()
    {
        Session? session;
        lock (_gate)
        {
            _disposed = true;
            session = _session;
        }

        _timeout?.Dispose();
        _dialCancellation.Cancel();
        _dialCancellation.Dispose();
        session?.Close(new DisconnectedException($"The connection {_grid.Address} <-> {_connection.RemoteAddress} was shut down."));
    }

    private void Run()
    {
        _connection.SetState(ConnectionState.Connecting);
        var timeout = _grid.Options.HandshakeTimeout;
        _timeout = _grid.Scheduler.Schedule(this, timeout, static (_, self) =>
        {
            self.End(new GridException($"Dialing and handshaking with '{self._connection.RemoteAddress}' took longer than {self._grid.Options.HandshakeTimeout}."));
            return System.Reactive.Disposables.Disposable.Empty;
        });

        ValueTask<ILink> dial;
        try
        {
            dial = _grid.Options.Transport.DialAsync(_grid.Address, _connection.RemoteAddress, _grid.LinkSettings, _dialCancellation.Token);
        }
#pragma warning disable CA1031 // A failed dial of any kind is retried.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            End(ex);
            return;
        }

        // A dial that completed already (in memory) continues inline here, so virtual time stays deterministic.
        _ = AwaitDialAsync(dial);
    }

    private async Task AwaitDialAsync(ValueTask<ILink> dial)
    {
        ILink link;
        try
        {
            link = await dial.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed dial of any kind is retried.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            End(ex);
            return;
        }

        OnDialed(link);
    }

    private void OnDialed(ILink link)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                link.Close(new DisconnectedException("The connect attempt was abandoned."));
                return;
            }

            _session = Session.Dial(_grid, link, this, _connection.RemoteAddress, _traceIn, _traceOut);
        }
    }

    private void End(Exception error)
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            _observer.OnError(error);
        }
    }
}
