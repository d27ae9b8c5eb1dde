namespace Grid.Reactive;

/// <summary>STUB</summary>
public sealed class Connection
{
    /// <summary>STUB</summary>
    public IObservable<Frame> FramesIn => throw new NotImplementedException();

    /// <summary>STUB</summary>
    public IObservable<Frame> FramesOut => throw new NotImplementedException();
}

/// <summary>STUB</summary>
public sealed class Manager
{
}
