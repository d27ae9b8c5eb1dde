using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Grid.Reactive.Connections;
using Grid.Reactive.Tests.Support;
using Grid.Reactive.Tests.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Security;

/// <summary>
/// The handshake's TLS channel binding: a dialer reaches the acceptor through a TLS-terminating relay that holds a
/// certificate of the same CA for the same name. With binding on, the relayed handshake is refused; with it off on
/// every node, the same relay gets through (so the test would catch the attack).
/// </summary>
public sealed class ChannelBindingTests
{
    private static readonly TestCertificates Cluster = new("Cluster CA");
    private readonly List<IAsyncDisposable> _owned = [];

    [OneTimeTearDown]
    public static void DisposeCertificates() => Cluster.Dispose();

    [TearDown]
    public async Task TearDown()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        _owned.Clear();
    }

    private static GridTlsOptions Tls(bool binding) => new()
    {
        ServerCertificate = Cluster.Issue(),
        TrustedRoots = [Cluster.Authority],
        ChannelBinding = binding,
    };

    /// <summary>Starts the acceptor, the dialer that reaches it only through <paramref name="relay"/>, and a good peer of the acceptor.</summary>
    private async Task<(Manager Acceptor, Manager Dialer, Manager Good)> StartAsync(bool binding, RelayProxy relay)
    {
        string acceptor, dialer, good;
        do
        {
            (acceptor, dialer, good) = (FreePort.NextAddress(), FreePort.NextAddress(), FreePort.NextAddress());
        }
        while (!DialDirection.ShouldDial(dialer, acceptor) || !DialDirection.ShouldDial(good, dialer));

        string[] all = [acceptor, dialer, good];
        Manager Node(string address, Action<System.Net.WebSockets.ClientWebSocketOptions>? configure) =>
            new(RealGrid.Options(address, all, new WebSocketTransport(new WebSocketTransportOptions { Tls = Tls(binding), ConfigureDialer = configure })));

        var nodes = (Node(acceptor, null), Node(dialer, o => o.Proxy = relay), Node(good, null));
        foreach (var node in new[] { nodes.Item1, nodes.Item2, nodes.Item3 })
        {
            RegisterBasics(node);
            _owned.Add(node);
            await node.StartAsync();
        }

        return nodes;
    }

    private static Connection To(Manager from, Manager to) => from.Connections.Single(c => c.RemoteAddress == to.Address);

    private static async Task<Connection> ConnectedAsync(Manager from, Manager to)
    {
        var connection = To(from, to);
        await connection.FirstAsync(s => s == ConnectionState.Connected).ToTask().WaitAsync(RealGrid.Guard);
        return connection;
    }

    [Test]
    public async Task WithBinding_AHandshakeRelayedThroughATlsTerminatingManInTheMiddle_IsRefused_AndTheAcceptorKeepsServing()
    {
        var relay = new RelayProxy(Cluster.Issue());
        _owned.Add(relay);
        var (acceptor, dialer, good) = await StartAsync(binding: true, relay);

        // The good peer, dialing directly, connects and is served.
        Assert.That(Text(await (await ConnectedAsync(good, acceptor)).Request(Echo, Bytes("direct")).ToTask().WaitAsync(RealGrid.Guard)), Does.EndWith(":direct"));

        // The relayed dialer passed TLS (the relay's certificate is valid) but is refused twice in a row by the handshake.
        await relay.Relayed.WaitAsync(RealGrid.Guard);
        var relayed = To(dialer, acceptor);
        Assert.That(relayed.IsDialer, Is.True);
        await relayed.Where(s => s == ConnectionState.Disconnected).Take(2).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(relayed.State, Is.Not.EqualTo(ConnectionState.Connected));
        Assert.That(relayed.LastError, Is.InstanceOf<HandshakeRejectedException>());
        Assert.That(To(acceptor, dialer).State, Is.Not.EqualTo(ConnectionState.Connected));

        // The acceptor still serves its good peer.
        Assert.That(Text(await (await ConnectedAsync(acceptor, good)).Request(Echo, Bytes("still")).ToTask().WaitAsync(RealGrid.Guard)), Does.EndWith(":still"));
    }

    [Test]
    public async Task WithoutBinding_TheSameRelay_GetsThrough()
    {
        var relay = new RelayProxy(Cluster.Issue());
        _owned.Add(relay);
        var (acceptor, dialer, _) = await StartAsync(binding: false, relay);

        var echo = await (await ConnectedAsync(dialer, acceptor)).Request(Echo, Bytes("relayed")).ToTask().WaitAsync(RealGrid.Guard);
        Assert.That(Text(echo), Does.EndWith(":relayed"));
        Assert.That(relay.Relayed.IsCompletedSuccessfully, Is.True, "the link went through the relay");
    }

    [Test]
    public async Task AHostedAcceptor_BindsToTheCertificateKestrelPresented()
    {
        // The hosted node has no ServerCertificate in its grid options: its binding can only come from Kestrel's connection.
        var (peerAddress, hostedAddress) = FreePort.DialingPair();

        string[] all = [hostedAddress, peerAddress];
        using var certificate = Cluster.Issue();
        var transport = new WebSocketTransport(new WebSocketTransportOptions { SelfHost = false, Tls = new GridTlsOptions { TrustedRoots = [Cluster.Authority] } });
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateEmptyBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, int.Parse(hostedAddress.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture), l => l.UseHttps(certificate)));
        builder.Services.AddRouting();
        builder.Services.AddWebSockets(_ => { });
        var app = builder.Build();
        _owned.Add(app);
        app.UseWebSockets();
        app.UseRouting();
        app.MapGrid(transport);
        await app.StartAsync();

        var hosted = new Manager(RealGrid.Options(hostedAddress, all, transport));
        var peer = new Manager(RealGrid.Options(peerAddress, all, new WebSocketTransport(new WebSocketTransportOptions { Tls = Tls(binding: true) })));
        foreach (var node in new[] { hosted, peer })
        {
            RegisterBasics(node);
            _owned.Insert(0, node);
            await node.StartAsync();
        }

        Assert.That(Text(await (await ConnectedAsync(peer, hosted)).Request(Echo, Bytes("hosted")).ToTask().WaitAsync(RealGrid.Guard)), Does.EndWith(":hosted"));
    }

    /// <summary>
    /// An HTTP CONNECT proxy that terminates TLS with its own certificate and opens a new TLS connection to the target:
    /// a man in the middle the dialer trusts (its certificate is of the cluster's CA, for the same name).
    /// </summary>
    private sealed class RelayProxy : IWebProxy, IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _certificate;
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _relayed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<IDisposable> _open = [];
        private readonly Task _accepting;

        public RelayProxy(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
        {
            _certificate = certificate;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        /// <summary>Completes when a connection was relayed: TLS established on both sides.</summary>
        public Task Relayed => _relayed.Task;

        public ICredentials? Credentials { get; set; }

        public Uri GetProxy(Uri destination) => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

        public bool IsBypassed(Uri host) => false;

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    lock (_open)
                    {
                        _open.Add(client);
                    }

                    _ = RelayAsync(client);
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
        }

        private async Task RelayAsync(TcpClient client)
        {
            try
            {
                var raw = client.GetStream();
                var target = await ReadConnectAsync(raw);
                await raw.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), _stop.Token);
                var front = new SslStream(raw);
                await front.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                var upstream = new TcpClient();
                lock (_open)
                {
                    _open.Add(upstream);
                    _open.Add(front);
                }

                await upstream.ConnectAsync(target.Host, target.Port, _stop.Token);
                var back = new SslStream(upstream.GetStream());
                lock (_open)
                {
                    _open.Add(back);
                }

                await back.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions { TargetHost = target.Host, RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null }, _stop.Token);
                _relayed.TrySetResult();
                await Task.WhenAny(front.CopyToAsync(back, _stop.Token), back.CopyToAsync(front, _stop.Token));
                front.Dispose();
                back.Dispose();
            }
            catch (Exception)
            {
                client.Dispose();
            }
        }

        /// <summary>Reads "CONNECT host:port HTTP/1.1" and the headers, up to the blank line.</summary>
        private async Task<(string Host, int Port)> ReadConnectAsync(NetworkStream stream)
        {
            var header = new StringBuilder();
            var one = new byte[1];
            while (!header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(one, _stop.Token) == 0)
                {
                    throw new IOException("The dialer closed before its CONNECT request ended.");
                }

                header.Append((char)one[0]);
            }

            var authority = header.ToString().Split(' ')[1];
            var colon = authority.LastIndexOf(':');
            return (authority[..colon], int.Parse(authority[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            lock (_open)
            {
                foreach (var open in _open)
                {
                    open.Dispose();
                }
            }

            _certificate.Dispose();
            _stop.Dispose();
        }
    }
}
