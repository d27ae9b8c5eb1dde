using System.Globalization;
using System.Reactive.Disposables;

namespace Grid.Reactive.Testing;

/// <summary>
/// The cold call <see cref="SimulatedGrid.Request"/> returns: each subscription numbers itself, makes the call on the
/// manager up at the caller's address at that moment, and records its start and its end in the grid's trace.
/// </summary>
/// <remarks>
/// Notifications pass through as they come, unfiltered (no Rx auto-detaching observer in between), so a test that
/// checks the call's grammar sees a second ending if the grid ever produced one; the trace records it too.
/// </remarks>
internal sealed class TracedRequest(SimulatedGrid grid, string from, string to, HandlerId handler, byte[] payload, TimeSpan? timeout, string? subroute)
    : IObservable<byte[]>
{
    public IDisposable Subscribe(IObserver<byte[]> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var id = grid.NextCallId();
        grid.Record(SimulationEventKind.CallStarted, from, to, string.Create(CultureInfo.InvariantCulture, $"#{id} handler {handler}"));
        if (grid.Node(from).Manager is not { } manager)
        {
            grid.Record(SimulationEventKind.CallEnded, from, to, string.Create(CultureInfo.InvariantCulture, $"#{id} {nameof(DisconnectedException)}"));
            observer.OnError(new DisconnectedException($"Node '{from}' was never started."));
            return Disposable.Empty;
        }

        var traced = new Observer(grid, from, to, id, observer);
        if (grid.IsUp(from) && !manager.Connections.Any(c => c.RemoteAddress == to))
        {
            // Not (or no longer) in the caller's membership: the call fails as one to a retired peer does.
            traced.OnError(new DisconnectedException($"'{to}' is not a member of the grid as '{from}' sees it."));
            return Disposable.Empty;
        }

        var call = manager.Connection(to).Request(handler, payload, timeout, subroute).Subscribe(traced);
        return Disposable.Create(() =>
        {
            traced.End("cancelled");
            call.Dispose();
        });
    }

    private sealed class Observer(SimulatedGrid grid, string from, string to, long id, IObserver<byte[]> inner) : IObserver<byte[]>
    {
        private bool _ended;

        public void OnNext(byte[] value)
        {
            End(string.Create(CultureInfo.InvariantCulture, $"answered {value.Length} bytes"));
            inner.OnNext(value);
        }

        public void OnError(Exception error)
        {
            End(error.GetType().Name);
            inner.OnError(error);
        }

        public void OnCompleted() => inner.OnCompleted();

        /// <summary>Records the call's end; a cancel after the end is not one, any other second end is traced as such.</summary>
        public void End(string how)
        {
            if (_ended && how == "cancelled")
            {
                return;
            }

            grid.Record(SimulationEventKind.CallEnded, from, to,
                string.Create(CultureInfo.InvariantCulture, $"#{id} {how}{(_ended ? " (again)" : "")}"));
            _ended = true;
        }
    }
}
