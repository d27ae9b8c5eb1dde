using System.Globalization;

namespace Grid.Reactive.Testing;

/// <summary>The grid's capacity faults: bandwidth per direction, and nodes that read slowly or not at all.</summary>
public sealed partial class SimulatedGrid
{
    /// <summary>
    /// Sets the bandwidth of messages sent from <paramref name="from"/> to <paramref name="to"/> from now on (see
    /// <see cref="InMemoryNetwork.SetBandwidth"/>): a large answer then takes its size over the bandwidth to arrive,
    /// and the frames behind it wait in the sender's queue.
    /// </summary>
    /// <param name="from">The sending node.</param>
    /// <param name="to">The receiving node.</param>
    /// <param name="bytesPerSecond">Bytes per virtual second; zero for unlimited; null for <see cref="SimulationOptions.DefaultBandwidth"/>.</param>
    public void SetBandwidth(string from, string to, long? bytesPerSecond)
    {
        Pair(from, to);
        Network.SetBandwidth(from, to, bytesPerSecond);
        Record(SimulationEventKind.Fault, from, to, bytesPerSecond switch
        {
            null => "bandwidth default",
            0 => "bandwidth unlimited",
            { } rate => string.Create(CultureInfo.InvariantCulture, $"bandwidth {rate} B/s"),
        });
    }

    /// <summary>
    /// Makes <paramref name="reader"/> stop reading what <paramref name="from"/> sends it, as a node whose reading loop
    /// is stuck (see <see cref="InMemoryNetwork.StopReading"/>): messages stay in flight, and once
    /// <paramref name="window"/> bytes are unread <paramref name="from"/>'s frames wait in its own queue. Undo with
    /// <see cref="ResumeReading"/> or <see cref="HealAll"/>. Traced as a fault on <c>reader-&gt;from</c>.
    /// </summary>
    /// <param name="reader">The node that stops reading.</param>
    /// <param name="from">The node whose messages it stops reading.</param>
    /// <param name="window">Most bytes sent and unread before the sender stops writing.</param>
    public void StopReading(string reader, string from, int window = InMemoryNetwork.DefaultReadWindow)
    {
        Pair(reader, from);
        Record(SimulationEventKind.Fault, reader, from, string.Create(CultureInfo.InvariantCulture, $"stop reading (window {window} bytes)"));
        Network.StopReading(reader, from, window);
    }

    /// <summary>
    /// Makes <paramref name="reader"/> read what <paramref name="from"/> sends it at <paramref name="bytesPerSecond"/>
    /// only (see <see cref="InMemoryNetwork.ReadSlowly"/>). Undo with <see cref="ResumeReading"/> or <see cref="HealAll"/>.
    /// Traced as a fault on <c>reader-&gt;from</c>.
    /// </summary>
    /// <param name="reader">The node that reads slowly.</param>
    /// <param name="from">The node whose messages it reads slowly.</param>
    /// <param name="bytesPerSecond">Reading speed in bytes per virtual second; more than zero.</param>
    /// <param name="window">Most bytes sent and unread before the sender stops writing.</param>
    public void ReadSlowly(string reader, string from, long bytesPerSecond, int window = InMemoryNetwork.DefaultReadWindow)
    {
        Pair(reader, from);
        Record(SimulationEventKind.Fault, reader, from, string.Create(CultureInfo.InvariantCulture, $"read slowly {bytesPerSecond} B/s (window {window} bytes)"));
        Network.ReadSlowly(reader, from, bytesPerSecond, window);
    }

    /// <summary>Ends a <see cref="StopReading"/> or <see cref="ReadSlowly"/>: what waited is delivered in order.</summary>
    /// <param name="reader">The node that reads again.</param>
    /// <param name="from">The node whose messages it reads again.</param>
    public void ResumeReading(string reader, string from)
    {
        Pair(reader, from);
        Record(SimulationEventKind.Heal, reader, from, "resume reading");
        Network.ResumeReading(reader, from);
    }
}
