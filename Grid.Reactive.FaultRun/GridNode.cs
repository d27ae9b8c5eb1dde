using System.Reactive.Linq;
using System.Text;

namespace Grid.Reactive.FaultRun;

/// <summary>
/// One grid node over real WebSockets: an echo handler that proves it read the whole request (a hash of it) and a
/// stream handler that sends numbered messages paced by the caller's credit. Every node serves; the load node also calls.
/// </summary>
internal static class GridNode
{
    public static Manager Create(NodeArgs args)
    {
        var node = new Manager(new ManagerOptions
        {
            Address = args.Address,
            Remotes = args.Nodes,
            Transport = new WebSocketTransport(new WebSocketTransportOptions
            {
                MaxConnections = args.MaxConnections ?? new WebSocketTransportOptions().MaxConnections,
                Tls = args.TlsDir is { } dir ? NodeCertificates.Tls(dir, args.Address) : null,
            }),
            Authenticator = new SharedSecretAuthenticator(Encoding.UTF8.GetBytes(args.Secret)),
            PingInterval = args.PingInterval,
            PingTimeout = args.PingTimeout,
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromSeconds(1) },
        });
        var address = args.Address;
        var answered = 0L;
        node.Register(Payloads.Echo, (payload, _) =>
        {
            var answer = Payloads.EchoAnswer(payload, address);
            if (args.CorruptEvery > 0 && Interlocked.Increment(ref answered) % args.CorruptEvery == 0)
            {
                answer[^1] ^= 0xFF; // a deliberately wrong answer, so a run can prove its books catch one
            }

            return ValueTask.FromResult(answer);
        });
        node.RegisterStream(Payloads.Numbers, async (stream, cancellationToken) =>
        {
            var count = Payloads.Count(stream.Payload);
            for (var i = 0; i < count; i++)
            {
                await stream.SendAsync(Payloads.StreamMessage(stream.Payload, i, address), cancellationToken);
            }
        }, new StreamHandlerOptions { InCapacity = 0, OutCapacity = 8 });
        return node;
    }

    /// <summary>Prints every connection state change with a wall-clock stamp, for the per-node log.</summary>
    public static IDisposable LogStates(Manager node) =>
        node.Connections
            .Select(c => c.Select(state => $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} [{c.LocalAddress} -> {c.RemoteAddress}] {state}"
                + (state == ConnectionState.Disconnected && c.LastError is { } e ? $" ({e.GetType().Name}: {e.Message})" : "")))
            .Merge()
            .Subscribe(Console.WriteLine);

    /// <summary>Serves until SIGTERM or SIGINT, then stops hard (the run measures faults, not drains).</summary>
    public static async Task<int> ServeAsync(NodeArgs args, CancellationToken stop)
    {
        await using var node = Create(args);
        using var states = LogStates(node);
        await node.StartAsync(CancellationToken.None);
        Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} serving at {args.Address}");
        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}
