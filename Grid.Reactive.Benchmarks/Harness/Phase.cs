namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>Where a timed run is: warming up (calls run, nothing counted), measuring, or stopping.</summary>
public enum Phase
{
    /// <summary>Calls run; nothing is counted.</summary>
    WarmUp,

    /// <summary>Calls completing now are counted.</summary>
    Measure,

    /// <summary>Workers finish their current call and leave.</summary>
    Stop,
}

/// <summary>The phase shared by the workers of one run, read once per call.</summary>
public sealed class PhaseFlag
{
    private int _phase;

    /// <summary>The current phase.</summary>
    public Phase Current => (Phase)Volatile.Read(ref _phase);

    /// <summary>True while calls completing now are counted.</summary>
    public bool Measuring => Volatile.Read(ref _phase) == (int)Phase.Measure;

    /// <summary>True once workers should leave.</summary>
    public bool Stopping => Volatile.Read(ref _phase) == (int)Phase.Stop;

    /// <summary>Moves to <paramref name="phase"/>.</summary>
    public void Set(Phase phase) => Volatile.Write(ref _phase, (int)phase);
}
