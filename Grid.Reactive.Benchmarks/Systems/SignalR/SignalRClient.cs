using Grid.Reactive.Benchmarks.Harness;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Grid.Reactive.Benchmarks.SignalRSystem;

/// <summary>
/// Opens a <see cref="HubConnection"/> to a <see cref="SignalRServer"/>: WebSockets only with negotiation skipped (one
/// HTTP upgrade, no negotiate round trip), the MessagePack hub protocol, automatic reconnect with its default delays
/// (0, 2, 10 and 30 s), everything else at its default. With TLS: https (the WebSocket is wss) and the server's
/// certificate checked against the run's CA.
/// </summary>
public static class SignalRClient
{
    /// <summary>Connects to the hub on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<HubConnection> ConnectAsync(int port, BenchTls? tls, CancellationToken cancellationToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl($"{BenchTls.HttpScheme(tls)}://127.0.0.1:{port}{BenchHub.Path}", HttpTransportType.WebSockets, options =>
            {
                options.SkipNegotiation = true;
                if (tls is not null)
                {
                    options.WebSocketConfiguration = webSocket => BenchTls.Configure(webSocket, tls);
                }
            })
            .AddMessagePackProtocol()
            .WithAutomaticReconnect()
            .Build();
        try
        {
            await connection.StartAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
