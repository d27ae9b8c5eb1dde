namespace Grid.Reactive.Muxing;

/// <summary>A call with a deadline, kept in a <see cref="DeadlineHeap"/> without any allocation of its own.</summary>
internal abstract class TimedCall
{
    /// <summary>Where the call sits in its heap; -1 while it is in none.</summary>
    internal int HeapIndex = -1;

    /// <summary>When the deadline passes, in scheduler ticks; <see cref="long.MaxValue"/> for never.</summary>
    internal long DueTicks;

    /// <summary>The deadline passed. Called by the heap's owner once the call left the heap.</summary>
    public abstract void OnDeadline();
}
