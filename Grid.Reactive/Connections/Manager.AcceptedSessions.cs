using Grid.Reactive.Connections;
using Grid.Reactive.Transport;
using Grid.Reactive.Diagnostics.Logging;

namespace Grid.Reactive;

/// <summary>The links this node accepted, held until their handshake names the connection they belong to.</summary>
public sealed partial class Manager
{
    /// <summary>Sessions this node accepted: held until their handshake names the connection they belong to.</summary>
    private sealed class AcceptedSessions(Manager manager) : ISessionOwner
    {
        private readonly HashSet<Session> _handshaking = [];
        private bool _closed;
        private long _refusedOverCap;

        public void Accept(ILink link)
        {
            lock (_handshaking)
            {
                if (_closed)
                {
                    link.Close(new DisconnectedException($"'{manager.Address}' is shutting down."));
                    return;
                }

                if (_handshaking.Count >= manager._grid.Options.MaxPendingHandshakes)
                {
                    // Strangers that connect and never handshake cannot pile up: beyond the cap they are closed at once.
                    if (_refusedOverCap++ % 1024 == 0)
                    {
                        TransportLog.TooManyPendingHandshakes(manager._grid.Logs.Transport, manager.Address, _handshaking.Count, _refusedOverCap);
                    }

                    link.Close(new ProtocolException($"Too many links waiting for their handshake on '{manager.Address}'."));
                    return;
                }

                _handshaking.Add(Session.Accept(manager._grid, link, this));
            }
        }

        public int Pending
        {
            get
            {
                lock (_handshaking)
                {
                    return _handshaking.Count;
                }
            }
        }

        public Refusal? OnOpened(Session session)
        {
            // The remote may have been retired between its handshake and now: refused as any unknown peer is.
            var refusal = manager._peers.ByAddress.TryGetValue(session.RemoteAddress!, out var connection)
                ? connection.Attach(session)
                : new Refusal("unknown", $"'{session.RemoteAddress}' is no longer a known remote of '{manager.Address}'");
            if (refusal is null)
            {
                // A refused session stays counted (and closed at shutdown) until its handshake timeout ends it.
                lock (_handshaking)
                {
                    _handshaking.Remove(session);
                }
            }

            return refusal;
        }

        public void OnClosed(Session session, Exception reason)
        {
            lock (_handshaking)
            {
                _handshaking.Remove(session);
            }

            if (session.RemoteAddress is { } remote && manager._peers.ByAddress.TryGetValue(remote, out var connection))
            {
                connection.Detach(session, reason);
            }
            else
            {
                TransportLog.ClosedBeforeHandshake(manager._grid.Logs.Transport, reason.Message);
            }
        }

        public void CloseAll()
        {
            Session[] sessions;
            lock (_handshaking)
            {
                _closed = true;
                sessions = [.. _handshaking];
                _handshaking.Clear();
            }

            foreach (var session in sessions)
            {
                session.Close(new DisconnectedException($"'{manager.Address}' is shutting down."));
            }
        }
    }
}
