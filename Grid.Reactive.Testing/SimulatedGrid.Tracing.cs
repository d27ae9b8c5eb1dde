using System.Globalization;
using System.Reactive.Disposables;

namespace Grid.Reactive.Testing;

/// <summary>How the grid writes its trace: the nodes' connection states (and frames), and the test's own entries.</summary>
public sealed partial class SimulatedGrid
{
    private CompositeDisposable Observe(Manager manager)
    {
        if (_views.Count > 0)
        {
            return ObservePeers(manager);
        }

        var tracing = new CompositeDisposable();
        foreach (var remote in Nodes.Where(r => r != manager.Address))
        {
            TraceConnection(manager, manager.Connection(remote), tracing);
        }

        return tracing;
    }

    private void TraceConnection(Manager manager, Connection connection, CompositeDisposable tracing)
    {
        var remote = connection.RemoteAddress;
        tracing.Add(connection.Subscribe(state => Record(SimulationEventKind.ConnectionState, manager.Address, remote, state.ToString())));
        if (_options.TraceFrames)
        {
            tracing.Add(connection.FramesOut.Subscribe(frame => Record(SimulationEventKind.Frame, manager.Address, remote,
                string.Create(CultureInfo.InvariantCulture, $"{frame.Op} mux {frame.MuxId} {frame.Flags} {frame.Payload.Length} bytes"))));
        }
    }

    /// <summary>Appends an event to the trace, stamped with the scheduler's clock.</summary>
    internal void Record(SimulationEventKind kind, string node, string? remote, string detail) => _trace.Record(kind, node, remote, detail);

    /// <summary>The next call's number in the trace.</summary>
    internal long NextCallId() => _trace.NextCallId();
}
