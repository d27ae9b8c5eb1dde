// The sample grid: three nodes on loopback WebSockets in one process. It shows connection states as they change,
// single requests across every pair, questions to all nodes at once composed with LINQ, errors as values, and a
// node restarting while its peers reconnect by themselves; then a grid in virtual time (VirtualTimeDemo.cs), the way
// to test timing. It ends on its own with exit code 0. With --tls it runs the same grid over wss with mutual TLS,
// on certificates of a CA made on the fly (SampleCertificates.cs).
using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Grid.Reactive;

var handlers = new
{
    Echo = new HandlerId(1),
    Whoami = new HandlerId(2),
    Fail = new HandlerId(3),
    Slow = new HandlerId(4),
    Compact = new HandlerId(10),
    RunningSum = new HandlerId(11),
    Firehose = new HandlerId(12),
};

var firehoseSent = 0;
var secret = Encoding.UTF8.GetBytes("sample-grid-shared-secret-0123456789");
var addresses = Enumerable.Range(0, 3).Select(_ => $"127.0.0.1:{FreePort()}").ToArray();
var tls = args.Contains("--tls") ? SampleCertificates.MutualTls() : null;
var transport = tls is null ? new WebSocketTransport() : new WebSocketTransport(new WebSocketTransportOptions { Tls = tls });
if (tls is not null)
{
    Console.WriteLine("Over wss, with mutual TLS: every node shows a certificate of a CA made for this run, and trusts only that CA.");
}

Manager NewNode(string address)
{
    var node = new Manager(new ManagerOptions
    {
        Address = address,
        Remotes = addresses,
        Transport = transport,
        Authenticator = new SharedSecretAuthenticator(secret),
        Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromSeconds(1) },
    });
    node.Register(handlers.Echo, (payload, _) => ValueTask.FromResult(Encoding.UTF8.GetBytes($"{address} echoes '{Encoding.UTF8.GetString(payload)}'")));
    node.Register(handlers.Whoami, (_, _) => ValueTask.FromResult(Encoding.UTF8.GetBytes(address)));
    node.Register(handlers.Fail, (_, _) => throw new InvalidOperationException($"{address} refuses on purpose"));
    node.Register(handlers.Slow, async (payload, cancellationToken) =>
    {
        await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
        return payload;
    });

    // Server push only: progress of a long job, paced by the caller's credit.
    node.RegisterStream(handlers.Compact, async (stream, cancellationToken) =>
    {
        for (var percent = 0; percent <= 100; percent += 25)
        {
            await stream.SendAsync(Encoding.UTF8.GetBytes($"{address} compacted {percent}%"), cancellationToken);
        }
    }, new StreamHandlerOptions { InCapacity = 0 });

    // Two-way, the Rx way: a running sum of the caller's numbers.
    node.RegisterStream(handlers.RunningSum, (_, incoming) => incoming
        .Scan(0L, (total, message) => total + BitConverter.ToInt64(message))
        .Select(BitConverter.GetBytes));

    // As fast as credit allows: each send waits until the caller has taken enough.
    node.RegisterStream(handlers.Firehose, async (stream, cancellationToken) =>
    {
        for (var i = 1; i <= 12; i++)
        {
            await stream.SendAsync(BitConverter.GetBytes(i), cancellationToken);
            Interlocked.Exchange(ref firehoseSent, i);
        }
    }, new StreamHandlerOptions { InCapacity = 0, OutCapacity = 3 });
    return node;
}

IDisposable ShowStates(Manager node) =>
    node.Connections
        .Select(c => c.Select(state => $"  [{c.LocalAddress} -> {c.RemoteAddress}] {state}"))
        .Merge()
        .Subscribe(Console.WriteLine);

Task AllConnected(IEnumerable<Manager> nodes) =>
    nodes.SelectMany(n => n.Connections)
        .Select(c => c.FirstAsync(s => s == ConnectionState.Connected))
        .Merge()
        .LastAsync()
        .Timeout(TimeSpan.FromSeconds(30))
        .ToTask();

Console.WriteLine($"Starting a three-node grid on {string.Join(", ", addresses)}");
var nodes = addresses.Select(NewNode).ToArray();
var traces = nodes.Select(ShowStates).ToList();
foreach (var node in nodes)
{
    await node.StartAsync();
}

await AllConnected(nodes);
Console.WriteLine("\nEvery pair is connected. Single requests across every pair, both ways:");
foreach (var from in nodes)
{
    foreach (var connection in from.Connections)
    {
        var answer = await connection.Request(handlers.Echo, Encoding.UTF8.GetBytes($"hello from {from.Address}"));
        Console.WriteLine($"  {from.Address} -> {connection.RemoteAddress}: {Encoding.UTF8.GetString(answer)}");
    }
}

Console.WriteLine("\nAsk every other node at once (Merge), with a timeout:");
var everyone = await nodes[0].Connections
    .Select(c => c.Request(handlers.Whoami, []).Select(Encoding.UTF8.GetString))
    .Merge()
    .Timeout(TimeSpan.FromSeconds(5))
    .ToList();
Console.WriteLine($"  {nodes[0].Address} heard from: {string.Join(", ", everyone.Order())}");

Console.WriteLine("\nPair two answers (Zip):");
var pair = await nodes[0].Connection(addresses[1]).Request(handlers.Whoami, [])
    .Zip(nodes[0].Connection(addresses[2]).Request(handlers.Whoami, []),
        (x, y) => $"{Encoding.UTF8.GetString(x)} and {Encoding.UTF8.GetString(y)}");
Console.WriteLine($"  both answered: {pair}");

Console.WriteLine("\nErrors are values in the sequence:");
var remoteError = await nodes[0].Connection(addresses[1]).Request(handlers.Fail, [])
    .Select(_ => "unexpected success")
    .Catch((RemoteException e) => Observable.Return($"RemoteException: {e.Message}"));
Console.WriteLine($"  {remoteError}");
var notFound = await nodes[0].Connection(addresses[1]).Request(new HandlerId(42), [])
    .Select(_ => "unexpected success")
    .Catch((HandlerNotFoundException e) => Observable.Return($"HandlerNotFoundException: {e.Message}"));
Console.WriteLine($"  {notFound}");
var late = await nodes[0].Connection(addresses[1]).Request(handlers.Slow, [], timeout: TimeSpan.FromMilliseconds(200))
    .Select(_ => "unexpected success")
    .Catch((DeadlineExceededException e) => Observable.Return($"DeadlineExceededException: {e.Message}"));
Console.WriteLine($"  {late}");

Console.WriteLine("\nA stream pushing progress from one node to another:");
await nodes[0].Connection(addresses[1]).NewStream(handlers.Compact)
    .Do(message => Console.WriteLine($"  {Encoding.UTF8.GetString(message)}"))
    .LastOrDefaultAsync();

Console.WriteLine("\nA two-way stream, a remote running sum:");
var sum = nodes[0].Connection(addresses[2]).NewStream(handlers.RunningSum);
var sums = sum.Select(m => BitConverter.ToInt64(m)).ToList().ToTask();
foreach (var n in new long[] { 5, 10, 20, 40 })
{
    await sum.SendAsync(BitConverter.GetBytes(n));
}

sum.OnCompleted();
Console.WriteLine($"  sent 5, 10, 20, 40; running sums came back as {string.Join(", ", await sums)}");

Console.WriteLine("\nA slow consumer (50 ms a message) and a producer that can only run 3 messages ahead of it:");
var taken = 0;
await nodes[0].Connection(addresses[1]).NewStream(handlers.Firehose)
    .Do(_ =>
    {
        Thread.Sleep(50); // the slow consumer: credit goes back only when this returns
        taken++;
        Console.WriteLine($"  consumer took {taken,2}, producer has sent {Volatile.Read(ref firehoseSent),2}: never more than 3 ahead");
    })
    .LastOrDefaultAsync();

Console.WriteLine($"\nRestarting {addresses[2]}: its peers see it go and come back, nobody calls reconnect.");
var peersBack = nodes[..2]
    .Select(n => n.Connection(addresses[2])
        .SkipWhile(s => s != ConnectionState.Disconnected)
        .FirstAsync(s => s == ConnectionState.Connected))
    .Merge()
    .LastAsync()
    .Timeout(TimeSpan.FromSeconds(30))
    .ToTask();
await nodes[2].DisposeAsync();
traces[2].Dispose();
nodes[2] = NewNode(addresses[2]);
traces[2] = ShowStates(nodes[2]);
await nodes[2].StartAsync();
await peersBack;
var again = await nodes[0].Connection(addresses[2]).Request(handlers.Echo, Encoding.UTF8.GetBytes("welcome back"));
Console.WriteLine($"  {Encoding.UTF8.GetString(again)}");

Console.WriteLine("\nTesting timing in virtual time: a deadline and a reconnect backoff, without waiting for either:");
await VirtualTimeDemo.RunAsync();

Console.WriteLine("\nShutting down.");
foreach (var node in nodes)
{
    await node.DisposeAsync();
}

traces.ForEach(t => t.Dispose());
Console.WriteLine("Done.");
return 0;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
