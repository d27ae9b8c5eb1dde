using System.Net;
using System.Net.Sockets;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>Free loopback ports.</summary>
public static class Ports
{
    /// <summary>A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
