namespace Grid.Reactive.Transport;

/// <summary>
/// How the receiving side of one direction reads while it is faulted: slowly, at <paramref name="BytesPerSecond"/>, or
/// not at all (zero); the sender may have at most about <paramref name="Window"/> bytes sent and unread meanwhile.
/// </summary>
/// <param name="BytesPerSecond">Reading speed in bytes per virtual second; zero for a reader that has stopped.</param>
/// <param name="Window">Once this many bytes are sent and unread, the sending link stops pulling messages.</param>
internal readonly record struct InMemoryReaderFault(long BytesPerSecond, int Window)
{
    /// <summary>True for a reader that reads nothing until it resumes.</summary>
    public bool IsStopped => BytesPerSecond == 0;
}
