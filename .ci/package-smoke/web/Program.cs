using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Grid.Reactive;

// Two nodes: this web app (AddGrid + MapGrid, the README's lines) and a self-hosted peer; one call each way, the
// health check, then a stop that must not wait for Kestrel's shutdown timeout.
var self = $"127.0.0.1:{FreePort()}";
var other = $"127.0.0.1:{FreePort()}";
const string Secret = "package-smoke-shared-secret-32-bytes";

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls($"http://{self}");
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Grid:Address"] = self,
    ["Grid:Remotes:0"] = self,
    ["Grid:Remotes:1"] = other,
    ["Grid:Secret"] = Secret,
    ["Logging:LogLevel:Default"] = "Warning",
});
builder.Services.AddGrid(builder.Configuration.GetSection("Grid"));
builder.Services.AddGridHandler<Hello>(Hello.Id);
builder.Services.AddHealthChecks().AddGrid();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(5));
var app = builder.Build();
app.MapGrid();
app.MapHealthChecks("/health");
await app.StartAsync();

await using var peer = new Manager(new ManagerOptions
{
    Address = other,
    Remotes = [self, other],
    Transport = new WebSocketTransport(),
    Authenticator = new SharedSecretAuthenticator(System.Text.Encoding.UTF8.GetBytes(Secret)),
});
await peer.StartAsync();
await peer.Connection(self).FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(TimeSpan.FromSeconds(30));
var answer = await peer.Connection(self).Request(Hello.Id, "smoke"u8.ToArray()).ToTask().WaitAsync(TimeSpan.FromSeconds(30));
using var http = new HttpClient();
var health = await http.GetStringAsync(new Uri($"http://{self}/health"));

try
{
    await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(20)); // a guard far below the 5-minute shutdown timeout
}
catch (TimeoutException)
{
    Console.Error.WriteLine("web smoke: the host did not stop promptly");
    return 1;
}

var text = System.Text.Encoding.UTF8.GetString(answer);
Console.WriteLine($"web smoke: answer '{text}', health '{health}', host stopped");
return text == "hello smoke" && health == "Healthy" ? 0 : 1;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed class Hello : IGridHandler
{
    public static readonly HandlerId Id = new(1);

    public ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context) =>
        ValueTask.FromResult(System.Text.Encoding.UTF8.GetBytes("hello " + System.Text.Encoding.UTF8.GetString(payload)));
}
