namespace Grid.Reactive.Testing;

/// <summary>What a <see cref="SimulationEvent"/> records.</summary>
public enum SimulationEventKind
{
    /// <summary>A node was built and started (for the first time, or again after a crash or stop).</summary>
    NodeStarted,

    /// <summary>A node crashed: its links were reset under it and its manager disposed.</summary>
    NodeCrashed,

    /// <summary>A node shut down in an orderly way (it said goodbye to its peers).</summary>
    NodeStopped,

    /// <summary>A node's connection to a remote changed state; the detail is the new <see cref="ConnectionState"/>.</summary>
    ConnectionState,

    /// <summary>A fault was injected into the network: latency, bandwidth, cut, partition, hold, drop, a reader that stops or slows.</summary>
    Fault,

    /// <summary>A fault was undone: heal, release, resume reading, heal all.</summary>
    Heal,

    /// <summary>A call made through <see cref="SimulatedGrid.Request"/> was subscribed.</summary>
    CallStarted,

    /// <summary>A call made through <see cref="SimulatedGrid.Request"/> ended: answered, failed or cancelled.</summary>
    CallEnded,

    /// <summary>A node wrote a frame (only with <see cref="SimulationOptions.TraceFrames"/>).</summary>
    Frame,

    /// <summary>A line the test added with <see cref="SimulatedGrid.Note"/>.</summary>
    Note,

    /// <summary>A stream made through <see cref="SimulatedGrid.Stream"/> was subscribed (opened).</summary>
    StreamStarted,

    /// <summary>A stream made through <see cref="SimulatedGrid.Stream"/> ended: completed, failed or cancelled; the detail counts its messages.</summary>
    StreamEnded,

    /// <summary>A node's view of the membership changed (<see cref="SimulatedGrid.SetMembers(IReadOnlyCollection{string})"/>); the detail lists the new host set.</summary>
    Membership,
}
