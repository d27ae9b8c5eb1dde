using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Grid.Reactive.FaultRun;

/// <summary>
/// Latency without tc netem (which this kernel lacks): a userspace TCP relay in its own namespace. Each node's
/// namespace redirects (nftables DNAT) its connections to node i to the relay's port 17000 + i; the relay dials
/// node i and copies bytes both ways, holding each chunk until its due time (read time + the pair's one-way delay),
/// in order, with a bounded queue so a stalled reader stalls its writer. The delay per (source IP, destination IP)
/// comes from a control file of lines "src-ip dst-ip delay-ms" (and a "# generation" line, echoed to control.applied
/// with the time it came into force) that the script rewrites; changes apply to open connections at once. Granularity is a read chunk, not a packet, and the relay is one more hop for every link.
/// </summary>
internal static class LatencyRelay
{
    public const int BasePort = 17000;

    public static async Task<int> RunAsync(NodeArgs args, CancellationToken stop)
    {
        var listen = IPAddress.Parse(args.Listen ?? throw new ArgumentException("--listen is required for the relay."));
        var delays = new ConcurrentDictionary<(string, string), int>();
        var control = Task.Run(() => WatchControl(args.Control, delays, stop), CancellationToken.None);
        var listeners = args.Nodes.Select((node, i) => Task.Run(() => ListenAsync(listen, BasePort + i, node, delays, stop), CancellationToken.None)).ToArray();
        Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} relay at {listen}, ports {BasePort}..{BasePort + args.Nodes.Count - 1}");
        await Task.WhenAll([control, .. listeners]);
        return 0;
    }

    private static async Task WatchControl(string? path, ConcurrentDictionary<(string, string), int> delays, CancellationToken stop)
    {
        var seen = DateTime.MinValue;
        while (!stop.IsCancellationRequested)
        {
            if (path is not null && File.Exists(path) && File.GetLastWriteTimeUtc(path) is var written && written != seen)
            {
                seen = written;
                var table = new Dictionary<(string, string), int>();
                var lines = await File.ReadAllLinesAsync(path, CancellationToken.None);
                foreach (var line in lines)
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length == 3 && int.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
                    {
                        table[(parts[0], parts[1])] = ms;
                    }
                }

                foreach (var key in delays.Keys.Except(table.Keys))
                {
                    delays.TryRemove(key, out _);
                }

                foreach (var (key, ms) in table)
                {
                    delays[key] = ms;
                }

                var generation = lines.FirstOrDefault(l => l.StartsWith('#')) ?? "#";
                await File.WriteAllTextAsync(path + ".applied", $"{generation} {Clock.NowMs}\n", CancellationToken.None); // the script waits for this
                Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} delays: {(table.Count == 0 ? "none" : string.Join(", ", table.Select(t => $"{t.Key.Item1}->{t.Key.Item2} {t.Value} ms")))}");
            }

            try
            {
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static async Task ListenAsync(IPAddress ip, int port, string target, ConcurrentDictionary<(string, string), int> delays, CancellationToken stop)
    {
        var to = IPEndPoint.Parse(target);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(ip, port));
        listener.Listen(256);
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _ = Task.Run(() => ConnectAsync(client, to, delays, stop), CancellationToken.None);
        }
    }

    private static async Task ConnectAsync(Socket client, IPEndPoint to, ConcurrentDictionary<(string, string), int> delays, CancellationToken stop)
    {
        using var a = client;
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        a.NoDelay = true;
        b.NoDelay = true;
        try
        {
            await b.ConnectAsync(to, stop);
        }
        catch (Exception)
        {
            return; // the target is down or cut: closing the client tells the dialer, as a refused connection would
        }

        var source = ((IPEndPoint)a.RemoteEndPoint!).Address.ToString();
        var target = to.Address.ToString();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var up = PumpAsync(a, b, () => delays.GetValueOrDefault((source, target)), done);
        var down = PumpAsync(b, a, () => delays.GetValueOrDefault((target, source)), done);
        var first = await Task.WhenAny(up, down);
        if (!await first)
        {
            await done.CancelAsync(); // an error on one side ends the pair: closing both sockets reaches the other end
        }

        await Task.WhenAll(up, down); // after a clean end of one direction, the other runs to its own end
    }

    /// <summary>Copies one direction with its delay; true when it ended cleanly (the source closed its side).</summary>
    private static async Task<bool> PumpAsync(Socket from, Socket to, Func<int> delay, CancellationTokenSource done)
    {
        var queue = Channel.CreateBounded<(byte[] Buffer, int Length, long Due)>(64);
        var writer = Task.Run(async () =>
        {
            var clean = false;
            try
            {
                await foreach (var (buffer, length, due) in queue.Reader.ReadAllAsync(done.Token))
                {
                    var wait = due - Environment.TickCount64;
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(wait), done.Token);
                    }

                    await to.SendAsync(buffer.AsMemory(0, length), SocketFlags.None, done.Token);
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                to.Shutdown(SocketShutdown.Send);
                clean = true;
            }
            catch (Exception)
            {
                await done.CancelAsync();
            }

            return clean;
        }, CancellationToken.None);
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                var length = await from.ReceiveAsync(buffer, SocketFlags.None, done.Token);
                if (length == 0)
                {
                    break;
                }

                await queue.Writer.WriteAsync((buffer, length, Environment.TickCount64 + delay()), done.Token);
            }

            queue.Writer.TryComplete();
            return await writer;
        }
        catch (Exception)
        {
            queue.Writer.TryComplete();
            await done.CancelAsync();
            await writer;
            return false;
        }
    }
}
