namespace Grid.Reactive;

/// <summary>Options of one stream a caller opens with <see cref="Connection.NewStream"/>.</summary>
public sealed record StreamOptions
{
    /// <summary>
    /// Deadline of the whole stream, sent to the remote (its handler's token fires then) and enforced here.
    /// Null (the default) for a stream that lives until one side ends it.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// How many messages <see cref="ClientStream.OnNext"/> may push beyond the credit the remote granted before the
    /// stream fails with <see cref="BackpressureException"/>. Default 256. <see cref="ClientStream.SendAsync"/>
    /// waits for credit instead and does not count against it.
    /// </summary>
    public int PushBufferCapacity { get; init; } = 256;
}

/// <summary>Options of a stream handler, fixed when it is registered and sent to the caller when a stream opens.</summary>
public sealed record StreamHandlerOptions
{
    /// <summary>
    /// The handler's receive window: how many caller messages may be in flight to it before it takes them.
    /// 0 for a stream without input (server push only): the caller's sends then fail. Default 64.
    /// </summary>
    public int InCapacity { get; init; } = 64;

    /// <summary>The caller's receive window: how many handler messages may be in flight before the caller takes them. Default 64.</summary>
    public int OutCapacity { get; init; } = 64;

    /// <summary>
    /// How many messages a handler's outgoing observable may push beyond the caller's credit before the stream fails
    /// with <see cref="BackpressureException"/>. Default 256. <see cref="ServerStream.SendAsync"/> waits instead.
    /// </summary>
    public int PushBufferCapacity { get; init; } = 256;

    internal void Validate()
    {
        if (InCapacity < 0 || OutCapacity < 1 || PushBufferCapacity < 0 || InCapacity > 1 << 20 || OutCapacity > 1 << 20)
        {
            throw new ArgumentException("StreamHandlerOptions needs 0 <= InCapacity, 1 <= OutCapacity (both at most 2^20) and PushBufferCapacity >= 0.");
        }
    }
}
