using System.Net;
using System.Net.Sockets;

namespace Grid.Reactive.Tests.Transport;

/// <summary>Picks loopback ports that are free right now, by letting the OS choose one for a throwaway listener.</summary>
internal static class FreePort
{
    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A free loopback address in the transport's <c>host:port</c> form.</summary>
    public static string NextAddress() => $"127.0.0.1:{Next()}";
}
