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

    /// <summary>Two free addresses where the node at <c>Dialer</c> is the one that dials the node at <c>Acceptor</c>.</summary>
    public static (string Dialer, string Acceptor) DialingPair()
    {
        string dialer, acceptor;
        do
        {
            (dialer, acceptor) = (NextAddress(), NextAddress());
        }
        while (!Grid.Reactive.Connections.DialDirection.ShouldDial(dialer, acceptor));

        return (dialer, acceptor);
    }
}
