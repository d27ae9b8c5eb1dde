using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>
/// The capacity hooks of the in-memory network: how fast each direction carries bytes (bandwidth), and receivers that
/// read slowly or not at all, whose senders stop once their window is full.
/// </summary>
public sealed partial class InMemoryNetwork
{
    /// <summary>The window <see cref="StopReading"/> and <see cref="ReadSlowly"/> use unless told otherwise: 64 KiB, like a TCP receive buffer.</summary>
    public const int DefaultReadWindow = 64 * 1024;

    private readonly Dictionary<InMemoryRoute, long> _bandwidths = [];
    private readonly Dictionary<InMemoryRoute, InMemoryReaderFault> _readers = [];
    private long? _defaultBandwidth;

    /// <summary>
    /// Bandwidth of every direction without its own <see cref="SetBandwidth"/>, in bytes per virtual second. Default
    /// null: unlimited (zero means the same). Applies to messages sent afterwards.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long? DefaultBandwidth
    {
        get
        {
            lock (Gate)
            {
                return _defaultBandwidth;
            }
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value ?? 0);
            lock (Gate)
            {
                _defaultBandwidth = value;
            }
        }
    }

    /// <summary>
    /// Sets the bandwidth from <paramref name="from"/> to <paramref name="to"/> for messages sent afterwards, on every
    /// link of that direction. A message of n bytes then occupies the wire for n / bandwidth and arrives that long
    /// plus the latency after it was sent; the messages of a direction go one after the other, and the sending link
    /// asks its owner for the next one only once the previous one is on the wire, so a slow link makes frames wait in
    /// the sender's queue, as on a real socket.
    /// </summary>
    /// <param name="from">Address of the sender.</param>
    /// <param name="to">Address of the receiver.</param>
    /// <param name="bytesPerSecond">Bytes per virtual second; zero for unlimited; null to follow <see cref="DefaultBandwidth"/> again.</param>
    public void SetBandwidth(string from, string to, long? bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesPerSecond ?? 0);
        var route = Route(from, to);
        lock (Gate)
        {
            if (bytesPerSecond is { } rate)
            {
                _bandwidths[route] = rate;
            }
            else
            {
                _bandwidths.Remove(route);
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="reader"/> stop reading what <paramref name="from"/> sends it, on every link between them,
    /// as a node whose reading loop is stuck: messages (and close notices) stay in flight, in order, and once
    /// <paramref name="window"/> bytes are sent and unread, the sending link stops asking its owner for messages, which
    /// then wait in the sender's queue. <see cref="ResumeReading"/> or <see cref="HealAll"/> delivers them in order.
    /// Replaces a <see cref="ReadSlowly"/> of the same direction.
    /// </summary>
    /// <param name="reader">Address of the node that stops reading.</param>
    /// <param name="from">Address of the sender whose messages it stops reading.</param>
    /// <param name="window">Most bytes sent and unread before the sender stops (it may overshoot by one message); at least 1.</param>
    public void StopReading(string reader, string from, int window = DefaultReadWindow) => SetReader(reader, from, 0, window);

    /// <summary>
    /// Makes <paramref name="reader"/> read what <paramref name="from"/> sends it at <paramref name="bytesPerSecond"/>
    /// only: each message is handed over once read, one after the other, and once <paramref name="window"/> bytes are
    /// sent and unread the sending link stops asking its owner for messages until the reader catches up. Undo with
    /// <see cref="ResumeReading"/> or <see cref="HealAll"/>. Replaces a <see cref="StopReading"/> of the same direction.
    /// </summary>
    /// <param name="reader">Address of the node that reads slowly.</param>
    /// <param name="from">Address of the sender whose messages it reads slowly.</param>
    /// <param name="bytesPerSecond">Reading speed in bytes per virtual second; more than zero.</param>
    /// <param name="window">Most bytes sent and unread before the sender stops (it may overshoot by one message); at least 1.</param>
    public void ReadSlowly(string reader, string from, long bytesPerSecond, int window = DefaultReadWindow)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        SetReader(reader, from, bytesPerSecond, window);
    }

    /// <summary>
    /// Ends a <see cref="StopReading"/> or <see cref="ReadSlowly"/>: what waited is delivered on the scheduler, in order,
    /// and the sender writes again without a window.
    /// </summary>
    /// <param name="reader">Address of the node that reads again.</param>
    /// <param name="from">Address of the sender.</param>
    public void ResumeReading(string reader, string from)
    {
        var route = Route(from, reader);
        lock (Gate)
        {
            if (_readers.Remove(route))
            {
                ReaderChangedLocked(route);
            }
        }
    }

    /// <summary>How long <paramref name="bytes"/> occupy the wire from <paramref name="from"/> to <paramref name="to"/>; zero when unlimited.</summary>
    internal TimeSpan TransmissionTimeLocked(string from, string to, int bytes)
    {
        var rate = _bandwidths.TryGetValue(new InMemoryRoute(from, to), out var own) ? own : _defaultBandwidth ?? 0;
        return rate == 0 ? TimeSpan.Zero : TimeToMove(bytes, rate);
    }

    /// <summary>How the receiver of <paramref name="from"/> -> <paramref name="to"/> reads, if it is faulted.</summary>
    internal InMemoryReaderFault? ReaderFaultLocked(string from, string to) =>
        _readers.TryGetValue(new InMemoryRoute(from, to), out var fault) ? fault : null;

    /// <summary>The time <paramref name="bytes"/> take at <paramref name="bytesPerSecond"/>, rounded up to a whole tick.</summary>
    internal static TimeSpan TimeToMove(long bytes, long bytesPerSecond)
    {
        var ticks = (((Int128)bytes * TimeSpan.TicksPerSecond) + bytesPerSecond - 1) / bytesPerSecond;
        return ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Ends every reader fault (for <see cref="HealAll"/>).</summary>
    private void ClearReaderFaultsLocked()
    {
        if (_readers.Count == 0)
        {
            return;
        }

        var routes = _readers.Keys.ToHashSet();
        _readers.Clear();
        foreach (var endpoint in OpenLocked(e => routes.Contains(new InMemoryRoute(e.Local, e.Remote)) || routes.Contains(new InMemoryRoute(e.Remote, e.Local))))
        {
            endpoint.WakeWriterLocked();
            endpoint.RequestDrainLocked(Scheduler.Now);
        }
    }

    private void SetReader(string reader, string from, long bytesPerSecond, int window)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        var route = Route(from, reader);
        lock (Gate)
        {
            _readers[route] = new InMemoryReaderFault(bytesPerSecond, window);
            ReaderChangedLocked(route);
        }
    }

    /// <summary>The reader fault of <paramref name="route"/> changed: its readers look again, and its paused writers too.</summary>
    private void ReaderChangedLocked(InMemoryRoute route)
    {
        foreach (var endpoint in OpenLocked(e => e.Local == route.From && e.Remote == route.To))
        {
            endpoint.WakeWriterLocked();
        }

        foreach (var endpoint in OpenLocked(e => e.Local == route.To && e.Remote == route.From))
        {
            endpoint.RequestDrainLocked(Scheduler.Now);
        }
    }
}
