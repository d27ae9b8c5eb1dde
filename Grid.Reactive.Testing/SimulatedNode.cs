using System.Reactive.Disposables;

namespace Grid.Reactive.Testing;

/// <summary>One address of a <see cref="SimulatedGrid"/> and the manager currently living there, if any.</summary>
internal sealed class SimulatedNode(string address)
{
    public string Address { get; } = address;

    /// <summary>The latest manager built for this address; kept (disposed) after a crash until the next start.</summary>
    public Manager? Manager { get; set; }

    /// <summary>How many times the node was started before the current (or last) manager: 0 for the first.</summary>
    public int Incarnation { get; set; } = -1;

    public bool IsUp { get; set; }

    /// <summary>The trace's subscriptions to the current manager's connections.</summary>
    public CompositeDisposable Tracing { get; set; } = [];

    /// <summary>Disposes the manager (synchronously, as the in-memory network allows) and stops tracing it.</summary>
    public void TakeDown()
    {
        IsUp = false;
        var disposed = Manager!.DisposeAsync();
        if (!disposed.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException($"Node '{Address}' did not shut down synchronously over the in-memory network.");
        }

        Tracing.Dispose();
    }
}
