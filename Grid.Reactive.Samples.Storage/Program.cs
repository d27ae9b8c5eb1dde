// The storage service of issue 11 as an ASP.NET Core app: three nodes, three disks each (subroutes "disk-1".."disk-3"),
// DiskInfo (and a cheap no-op variant), ReadAll, RenameFile and a directory-walk stream on the storage grid; Lock and
// Unlock on a named grid of its own ("locks", its own path and port); health of both at /health; metrics and traces to
// the OpenTelemetry console exporter.
//
//   dotnet run --project Grid.Reactive.Samples.Storage -- --demo
//
// starts three nodes on loopback ports in one process, calls across them, takes and releases a lock, prints /health,
// stops every host and exits 0. Without --demo it runs one node configured from appsettings/the environment
// ("Grid" section for the storage grid, "Locks" section for the lock grid).
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grid.Reactive;
using Grid.Reactive.Samples.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

if (!args.Contains("--demo"))
{
    var app = BuildNode(args, configure: null, exportTelemetry: true);
    await app.RunAsync();
    return 0;
}

const string secret = "storage-demo-shared-secret-0123456789";
const string lockSecret = "storage-demo-lock-grid-secret-0123456789";
var data = Enumerable.Range(0, 3).Select(_ => $"127.0.0.1:{FreePort()}").ToArray();
var locks = Enumerable.Range(0, 3).Select(_ => $"127.0.0.1:{FreePort()}").ToArray();
var nodes = new List<WebApplication>();
try
{
    for (var i = 0; i < 3; i++)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Grid:Address"] = data[i],
            ["Grid:Secret"] = secret,
            ["Grid:ReconnectInitialDelay"] = "00:00:00.050",
            ["Grid:ReconnectMaxDelay"] = "00:00:01",
            ["Grid:DrainTimeout"] = "00:00:02",
            ["Locks:Address"] = locks[i],
            ["Locks:Secret"] = lockSecret,
            ["Locks:ReconnectInitialDelay"] = "00:00:00.050",
            ["Locks:ReconnectMaxDelay"] = "00:00:01",
            ["Locks:DrainTimeout"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Warning",
            // Node 1 dials peers not started yet; each such failure would say so once, at Warning.
            ["Logging:LogLevel:Grid.Reactive"] = "Error",
        };
        for (var r = 0; r < 3; r++)
        {
            settings[$"Grid:Remotes:{r}"] = data[r];
            settings[$"Locks:Remotes:{r}"] = locks[r];
        }

        // The meter and the activity source are shared by every node in this one process, so node 1's OpenTelemetry
        // providers see all three nodes: the others export nothing (else each span and metric would print three times).
        var node = BuildNode([], configuration => configuration.AddInMemoryCollection(settings), exportTelemetry: i == 0);
        node.Urls.Add($"http://{data[i]}");
        await node.StartAsync();
        nodes.Add(node);
        Console.WriteLine($"node-{i + 1}: storage grid at ws://{data[i]}/grid/v1, lock grid at ws://{locks[i]}/locks/v1");
    }

    using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(10));
    var manager = nodes[0].Services.GetRequiredService<Manager>();
    var lockManager = nodes[0].Services.GetRequiredKeyedService<Manager>(LockCalls.Grid);
    foreach (var peer in new[] { manager.Connection(data[1]), manager.Connection(data[2]), lockManager.Connection(locks[1]), lockManager.Connection(locks[2]) })
    {
        await WaitConnected(peer, ready.Token);
    }

    Console.WriteLine();
    Console.WriteLine("== storage grid: calls from node-1 to the disks of node-2 and node-3 ==");
    foreach (var remote in data[1..])
    {
        var peer = manager.Connection(remote);
        var noOp = await StorageCalls.DiskInfoNoOp.CallAsync(peer, new DiskInfoRequest(Metrics: false));
        Console.WriteLine($"DiskInfo (no-op) -> {noOp.Node}: alive");
        foreach (var disk in StorageCalls.Disks)
        {
            var info = await StorageCalls.DiskInfo.CallAsync(peer, new DiskInfoRequest(Metrics: true), subroute: disk);
            Console.WriteLine($"DiskInfo {remote}/{info.Disk}: {info.Files} files, {info.UsedBytes} bytes");
        }
    }

    // One trace across two nodes: the caller's span (node 1) and the handler's span (node 2) share its trace id.
    using var demoSource = new ActivitySource(DemoSampler.SourceName);
    var trace = demoSource.StartActivity("storage-demo read and rename");
    var node2 = manager.Connection(data[1]);
    var format = await StorageCalls.ReadAll.CallAsync(node2, new ReadAllRequest("bucket/format.json"), subroute: "disk-2");
    Console.WriteLine($"ReadAll {data[1]}/disk-2/bucket/format.json: {Encoding.UTF8.GetString(format)}");
    var renamed = await StorageCalls.RenameFile.CallAsync(node2, new RenameRequest("bucket/objects/a.part", "bucket/objects/a.renamed"), subroute: "disk-2");
    Console.WriteLine($"RenameFile {data[1]}/disk-2 bucket/objects/a.part -> a.renamed: {renamed}");
    try
    {
        await StorageCalls.ReadAll.CallAsync(node2, new ReadAllRequest("bucket/objects/a.part"), subroute: "disk-2");
    }
    catch (RemoteException error)
    {
        Console.WriteLine($"ReadAll of the old name fails on the remote node, as it should: {error.Message}");
    }

    trace?.Dispose();
    Console.WriteLine($"(the spans above belong to trace {trace?.TraceId}, on node-1 and node-2)");

    Console.Write($"WalkDir {data[2]}/disk-3/bucket:");
    await foreach (var file in StorageCalls.WalkDir.Open(manager.Connection(data[2]), new WalkRequest("bucket"), subroute: "disk-3").ReadAllAsync())
    {
        Console.Write($" {file}");
    }

    Console.WriteLine();
    Console.WriteLine();
    Console.WriteLine("== lock grid (the named grid 'locks': its own Manager, path and port): node-1 locks 'bucket/objects' on node-2 and node-3 ==");
    var lockRequest = new LockRequest("bucket/objects", "node-1");
    foreach (var remote in locks[1..])
    {
        var granted = await LockCalls.Lock.CallAsync(lockManager.Connection(remote), lockRequest);
        Console.WriteLine($"Lock on {remote}: {(granted ? "granted" : "refused")}");
    }

    var rival = await LockCalls.Lock.CallAsync(nodes[2].Services.GetRequiredKeyedService<Manager>(LockCalls.Grid).Connection(locks[1]), lockRequest with { Owner = "node-3" });
    Console.WriteLine($"Lock by node-3 on {locks[1]} while node-1 holds it: {(rival ? "granted" : "refused")}");
    foreach (var remote in locks[1..])
    {
        var released = await LockCalls.Unlock.CallAsync(lockManager.Connection(remote), lockRequest);
        Console.WriteLine($"Unlock on {remote}: {(released ? "released" : "not held")}");
    }

    Console.WriteLine();
    Console.WriteLine("== /health of every node ==");
    using var http = new HttpClient();
    foreach (var address in data)
    {
        using var response = await http.GetAsync(new Uri($"http://{address}/health"));
        Console.WriteLine($"GET http://{address}/health: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    Console.WriteLine();
    Console.WriteLine("== stopping the hosts (node-1's metrics follow, exported when its host stops) ==");
}
finally
{
    foreach (var node in Enumerable.Reverse(nodes))
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await node.StopAsync(stopping.Token);
        await node.DisposeAsync();
    }
}

Console.WriteLine("Storage demo done.");
return 0;

static WebApplication BuildNode(string[] args, Action<IConfigurationBuilder>? configure, bool exportTelemetry)
{
    var builder = WebApplication.CreateBuilder(args);
    configure?.Invoke(builder.Configuration);
    var node = builder.Configuration["Grid:Address"] ?? "node";

    // The storage grid: options from the "Grid" section, handler classes through DI (each disk call's class once for
    // every disk: the disk is the subroute), health of its peers.
    builder.Services.AddGrid(builder.Configuration.GetSection("Grid"));
    builder.Services.AddSingleton(_ => new Disks(node)); // created by the container, so disposed (temp directories deleted) with it
    builder.Services.AddGridHandler<DiskInfoNoOpHandler, DiskInfoRequest, DiskInfo>(StorageCalls.DiskInfoNoOp);
    builder.Services.AddGridHandler<DiskInfoHandler, DiskInfoRequest, DiskInfo>(StorageCalls.DiskInfo, StorageCalls.Disks);
    builder.Services.AddGridHandler<ReadAllHandler, ReadAllRequest, byte[]>(StorageCalls.ReadAll, StorageCalls.Disks);
    builder.Services.AddGridHandler<RenameFileHandler, RenameRequest, bool>(StorageCalls.RenameFile, StorageCalls.Disks);
    builder.Services.AddGridStreamHandler<WalkDirHandler, WalkRequest, string, string>(StorageCalls.WalkDir, StorageCalls.Disks);

    // The lock grid: a named grid from the "Locks" section, on its own path and port, started and drained with the host.
    builder.Services.AddSingleton<LockTable>();
    builder.Services.AddGrid(LockCalls.Grid, builder.Configuration.GetSection("Locks"), locks =>
        {
            // Its own Kestrel server at Locks:Address, a port apart from the application's. (Without SelfHost, the
            // application would serve it too: app.MapGrid("locks"), listening at Locks:Address.)
            locks.SelfHost = true;
            locks.Path = "/locks/v1";
        })
        .AddHandler<LockHandler, LockRequest, bool>(LockCalls.Lock)
        .AddHandler<UnlockHandler, LockRequest, bool>(LockCalls.Unlock);

    builder.Services.AddHealthChecks().AddGrid().AddGrid(LockCalls.Grid);

    // Metrics and traces to the console: the meter and the activity source are both named "Grid.Reactive". Metrics
    // are exported once an hour and when the host stops (the demo shows them at the end).
    if (exportTelemetry)
    {
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("storage"))
            .WithTracing(tracing => tracing
                .AddSource(GridDiagnostics.ActivitySourceName, DemoSampler.SourceName)
                .SetSampler(new ParentBasedSampler(new DemoSampler()))
                .AddConsoleExporter())
            .WithMetrics(metrics => metrics
                .AddMeter(GridDiagnostics.MeterName)
                .AddConsoleExporter((_, reader) =>
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)TimeSpan.FromHours(1).TotalMilliseconds));
    }

    var app = builder.Build();
    app.MapGrid(); // the storage grid; the lock grid serves itself at Locks:Address
    app.MapHealthChecks("/health", new HealthCheckOptions
    {
        // The status, then each check's description ("2 of 2 peers connected" or the reasons of the others).
        ResponseWriter = (context, report) => context.Response.WriteAsync(
            $"{report.Status}; {string.Join("; ", report.Entries.Select(e => $"{e.Key}: {e.Value.Status}, {e.Value.Description}"))}"),
    });
    return app;
}

static async Task WaitConnected(Connection peer, CancellationToken cancellationToken)
{
    var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using var subscription = peer.Subscribe(state =>
    {
        if (state == ConnectionState.Connected)
        {
            connected.TrySetResult();
        }
    });
    await connected.Task.WaitAsync(cancellationToken);
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
