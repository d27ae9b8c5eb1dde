using System.Reactive.Concurrency;
using Grid.Reactive.Transport;

namespace Grid.Reactive;

/// <summary>The fault hooks of the in-memory network: latency, cuts and partitions, holds, drops, corruption and crashes (bandwidth and slow readers: <c>InMemoryNetwork.Capacity.cs</c>).</summary>
public sealed partial class InMemoryNetwork
{
    /// <summary>The lock guarding the network and all its endpoints.</summary>
    internal Lock Gate { get; } = new();

    /// <summary>
    /// Sets the latency of messages (and close notices) sent from <paramref name="from"/> to <paramref name="to"/>
    /// afterwards. Order is kept per direction: a message never overtakes one sent before it.
    /// </summary>
    /// <param name="from">Address of the sender.</param>
    /// <param name="to">Address of the receiver.</param>
    /// <param name="latency">Delay between the writer pass and the delivery; zero or more.</param>
    public void SetLatency(string from, string to, TimeSpan latency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        lock (Gate)
        {
            _latencies[Route(from, to)] = latency;
        }
    }

    /// <summary>
    /// Cuts every link between <paramref name="a"/> and <paramref name="b"/>: both ends are closed at once, dropping
    /// what was in flight, and their handlers get <c>OnClosed</c> with a <see cref="DisconnectedException"/> (on the
    /// scheduler). Dials between the two fail until <see cref="Heal"/>.
    /// </summary>
    /// <param name="a">One address.</param>
    /// <param name="b">The other address.</param>
    public void Cut(string a, string b)
    {
        lock (Gate)
        {
            CutLocked(a, b);
        }
    }

    /// <summary>Allows dials between <paramref name="a"/> and <paramref name="b"/> again after <see cref="Cut"/>.</summary>
    /// <param name="a">One address.</param>
    /// <param name="b">The other address.</param>
    public void Heal(string a, string b)
    {
        var route = Route(a, b);
        lock (Gate)
        {
            _cuts.Remove(route.Undirected);
        }
    }

    /// <summary>
    /// Holds deliveries from <paramref name="from"/> to <paramref name="to"/>: messages and close notices in that
    /// direction wait, in order, until <see cref="Release"/>. Sending is not affected.
    /// </summary>
    /// <param name="from">Address of the sender.</param>
    /// <param name="to">Address of the receiver.</param>
    public void Hold(string from, string to)
    {
        var route = Route(from, to);
        lock (Gate)
        {
            _held.Add(route);
        }
    }

    /// <summary>
    /// Ends a <see cref="Hold"/>: the waiting messages are delivered on the scheduler, in order (those already due at
    /// once, the others at their due time).
    /// </summary>
    /// <param name="from">Address of the sender.</param>
    /// <param name="to">Address of the receiver.</param>
    public void Release(string from, string to)
    {
        var route = Route(from, to);
        lock (Gate)
        {
            if (!_held.Remove(route))
            {
                return;
            }

            foreach (var endpoint in OpenLocked(e => e.Remote == from && e.Local == to))
            {
                endpoint.RequestDrainLocked(Scheduler.Now);
            }
        }
    }

    /// <summary>
    /// Silently drops the next <paramref name="count"/> messages sent from <paramref name="from"/> to
    /// <paramref name="to"/> (replacing any count still pending; zero cancels). Close notices are never dropped.
    /// </summary>
    /// <param name="from">Address of the sender.</param>
    /// <param name="to">Address of the receiver.</param>
    /// <param name="count">How many messages to drop; zero or more.</param>
    public void DropNext(string from, string to, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var route = Route(from, to);
        lock (Gate)
        {
            _drops[route] = count;
        }
    }

    /// <summary>
    /// Replaces the next message sent from <paramref name="from"/> to <paramref name="to"/> with what
    /// <paramref name="corrupt"/> makes of it (a copy; truncate it, flip bits, write garbage), to test how a node
    /// treats malformed input on a live connection. Replaces any corruption still pending on that route.
    /// </summary>
    /// <param name="from">Address of the sender.</param>
    /// <param name="to">Address of the receiver.</param>
    /// <param name="corrupt">Turns the message into the bytes to deliver instead.</param>
    public void CorruptNext(string from, string to, Func<byte[], byte[]> corrupt)
    {
        ArgumentNullException.ThrowIfNull(corrupt);
        var route = Route(from, to);
        lock (Gate)
        {
            _corruptions[route] = corrupt;
        }
    }

    /// <summary>
    /// Splits the network: every node of one group is <see cref="Cut"/> from every node of every other group (links
    /// between them close at once and dials fail). Nodes within a group, and nodes in no group, are not affected.
    /// Undo with <see cref="HealAll"/>, or pair by pair with <see cref="Heal"/>.
    /// </summary>
    /// <param name="groups">Disjoint sets of addresses, for example <c>["a", "b"], ["c", "d", "e"]</c>.</param>
    /// <exception cref="ArgumentException">An address is empty, or appears in two groups.</exception>
    public void Partition(params IReadOnlyCollection<string>[] groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var address in groups.SelectMany(g => g ?? throw new ArgumentException("A group is null.", nameof(groups))))
        {
            ArgumentException.ThrowIfNullOrEmpty(address, nameof(groups));
            if (!seen.Add(address))
            {
                throw new ArgumentException($"'{address}' is in two groups of the partition.", nameof(groups));
            }
        }

        lock (Gate)
        {
            for (var i = 0; i < groups.Length; i++)
            {
                for (var j = i + 1; j < groups.Length; j++)
                {
                    foreach (var a in groups[i])
                    {
                        foreach (var b in groups[j])
                        {
                            CutLocked(a, b);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Ends every fault at once: heals every cut and partition, releases every hold (waiting messages are delivered
    /// as with <see cref="Release"/>), ends every <see cref="StopReading"/> and <see cref="ReadSlowly"/> (as with
    /// <see cref="ResumeReading"/>) and cancels every pending <see cref="DropNext"/>. Latencies and bandwidths stay as
    /// they are.
    /// </summary>
    public void HealAll()
    {
        lock (Gate)
        {
            _cuts.Clear();
            _drops.Clear();
            ClearReaderFaultsLocked();
            if (_held.Count == 0)
            {
                return;
            }

            var held = new HashSet<InMemoryRoute>(_held);
            _held.Clear();
            foreach (var endpoint in OpenLocked(e => held.Contains(new InMemoryRoute(e.Remote, e.Local))))
            {
                endpoint.RequestDrainLocked(Scheduler.Now);
            }
        }
    }

    /// <summary>
    /// Closes every link of <paramref name="address"/> at once, as the crash of that node: its own ends close, dropping
    /// what was in flight. With <paramref name="peersNotice"/> its peers' ends close too, as after a connection reset
    /// (their handlers get <c>OnClosed</c> with a <see cref="DisconnectedException"/>, on the scheduler); without, the
    /// peers' ends stay open and simply hear nothing more, as when a machine loses power, until they close them
    /// themselves. Unlike <see cref="Cut"/> it leaves nothing behind: new dials work at once.
    /// </summary>
    /// <param name="address">The address whose links end.</param>
    /// <param name="peersNotice">Whether the peers' ends are reset too (default) or left half-open.</param>
    public void Abort(string address, bool peersNotice = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        lock (Gate)
        {
            foreach (var endpoint in OpenLocked(e => e.Local == address || (peersNotice && e.Remote == address)))
            {
                endpoint.AbortLocked(new DisconnectedException($"link {endpoint.Local}<->{endpoint.Remote} reset: {address} went away"));
            }
        }
    }
}
