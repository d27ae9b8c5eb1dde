using System.Reactive.Threading.Tasks;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Hosting;

/// <summary>
/// A real ASP.NET Core application with <c>AddGrid</c> and <c>MapGrid()</c>: the grid starts with the host, and stopping
/// the host drains the grid's calls and ends its WebSocket requests before Kestrel stops, so the host never waits for
/// its shutdown timeout.
/// </summary>
public sealed class GridHostTests
{
    private static readonly HandlerId Slow = new(60);

    [Test]
    public async Task StoppingTheHost_DrainsTheCallInFlight_AndDoesNotWaitForKestrelsShutdownTimeout()
    {
        var hostAddress = FreePort.NextAddress();
        var peerAddress = FreePort.NextAddress();
        string[] all = [hostAddress, peerAddress];
        var gate = new HandlerGate();
        var probe = new ShutdownTimeoutProbe();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls($"http://{hostAddress}");
        // Deliberately long: if anything waited for it, the probe would see its token cancelled (and the guard below fire).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
        builder.Services.AddSingleton(gate);
        builder.Services.AddHostedService(_ => probe);
        builder.Services.AddGrid(o =>
        {
            o.Address = hostAddress;
            o.Remotes = all;
            o.Secret = "grid-reactive-tests-shared-secret";
            o.DrainTimeout = TimeSpan.FromMinutes(1);
        });
        builder.Services.AddGridHandler<GatedHandler>(Slow);
        builder.Services.AddGridHandler<EchoHandler>(Echo);
        var app = builder.Build();
        app.MapGrid();
        await app.StartAsync();

        await using var peer = new Manager(new ManagerOptions
        {
            Address = peerAddress,
            Remotes = all,
            Transport = new WebSocketTransport(),
            Authenticator = new SharedSecretAuthenticator(VirtualGrid.Secret),
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
        });
        await peer.StartAsync();
        var toHost = peer.Connection(hostAddress);
        await toHost.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);

        var call = toHost.Request(Slow, Bytes("in flight"), TimeSpan.FromMinutes(1)).ToTask();
        await gate.Started.Task.WaitAsync(RealGrid.Guard);
        var stop = app.StopAsync();
        await WhenRefusedAsShuttingDown(toHost).WaitAsync(RealGrid.Guard);
        Assert.That(call.IsCompleted, Is.False, "the call is still in flight while the grid drains");
        gate.Release.SetResult();

        Assert.That(Text(await call.WaitAsync(RealGrid.Guard)), Is.EqualTo("answered: in flight"), "the call in flight was drained, not cut");
        await stop.WaitAsync(RealGrid.Guard);
        Assert.That(probe.StopToken.IsCancellationRequested, Is.False, "the host stopped before its shutdown timeout fired");
        await app.DisposeAsync();
    }

    /// <summary>Completes when the stopping node refuses a new call as shutting down: its drain has begun.</summary>
    private static async Task WhenRefusedAsShuttingDown(Connection connection)
    {
        while (true)
        {
            try
            {
                await connection.Request(Echo, Bytes("probe")).ToTask();
            }
            catch (DisconnectedException ex) when (ex.Message.Contains("shutting down", StringComparison.Ordinal))
            {
                return;
            }
        }
    }

    public sealed class HandlerGate
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed class GatedHandler(HandlerGate gate) : IGridHandler
    {
        public async ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context)
        {
            gate.Started.TrySetResult();
            await gate.Release.Task;
            return Bytes("answered: " + Text(payload));
        }
    }

    public sealed class EchoHandler : IGridHandler
    {
        public ValueTask<byte[]> HandleAsync(byte[] payload, RequestContext context) => ValueTask.FromResult(payload);
    }

    /// <summary>Keeps the token the host stops its services with: it is cancelled when the shutdown timeout fires.</summary>
    private sealed class ShutdownTimeoutProbe : IHostedService
    {
        public CancellationToken StopToken { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            StopToken = cancellationToken;
            return Task.CompletedTask;
        }
    }
}
