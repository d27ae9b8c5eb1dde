using Microsoft.Reactive.Testing;

namespace Grid.Reactive.Tests.Support;

/// <summary>A <see cref="TestScheduler"/> that can tell whether any scheduled work (a timer, a delivery) is left.</summary>
public sealed class InspectableTestScheduler : TestScheduler
{
    /// <summary>True while some work not yet cancelled is scheduled.</summary>
    public bool HasPendingWork => GetNext() is not null;
}
