using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.TcpRaw;

/// <summary>
/// The latency floor: a raw TCP socket ping-pong on loopback (Nagle off). Each request is <c>[length:u32][bytes]</c>,
/// echoed whole. One call in flight, two nodes: it answers scenario 1 at concurrency 1 only. With TLS: an
/// <see cref="SslStream"/> around each end (the run's node certificate, the client trusting its CA), each message one
/// write: the TLS latency floor.
/// </summary>
/// <param name="tls">The certificates of a TLS run, or null.</param>
public sealed class TcpRawSystem(BenchTls? tls = null) : IEchoSystem
{
    /// <inheritdoc />
    public string Name => "tcp-raw";

    /// <inheritdoc />
    public int MaxNodes => 2;

    /// <inheritdoc />
    public int MaxConcurrency => 1;

    /// <inheritdoc />
    public async Task<IEchoCluster> StartAsync(int nodes, int lanes, CancellationToken cancellationToken)
    {
        if (nodes != 2 || lanes != 1)
        {
            throw new ArgumentException("tcp-raw runs two nodes and one lane.");
        }

        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync(cancellationToken);
        await client.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
        var server = await accepting;
        server.NoDelay = true;
        if (tls is null)
        {
            return new Pair(listener, server, client, null, null);
        }

        var serverTls = new SslStream(new NetworkStream(server, ownsSocket: false));
        var clientTls = new SslStream(new NetworkStream(client, ownsSocket: false), leaveInnerStreamOpen: false, tls.Validate);
        try
        {
            await Task.WhenAll(
                serverTls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = tls.ServerCertificate }, cancellationToken),
                clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "127.0.0.1" }, cancellationToken));
        }
        catch
        {
            await serverTls.DisposeAsync();
            await clientTls.DisposeAsync();
            client.Dispose();
            server.Dispose();
            listener.Dispose();
            throw;
        }

        tls.Negotiated ??= $"{clientTls.SslProtocol}, {clientTls.NegotiatedCipherSuite}";
        return new Pair(listener, server, client, serverTls, clientTls);
    }

    private sealed class Pair : IEchoCluster, IEchoClient
    {
        private readonly Socket _listener;
        private readonly Socket _server;
        private readonly Socket _client;
        private readonly SslStream? _serverTls;
        private readonly SslStream? _clientTls;
        private readonly Task _serving;
        private byte[] _send = new byte[4096];
        private byte[] _receive = new byte[4096];

        public Pair(Socket listener, Socket server, Socket client, SslStream? serverTls, SslStream? clientTls)
        {
            _listener = listener;
            _server = server;
            _client = client;
            _serverTls = serverTls;
            _clientTls = clientTls;
            _serving = Task.Run(ServeAsync);
        }

        public bool CanCut => false;

        public IEchoClient Client(int from, int to) => this;

        public Task CutAsync(int node, CancellationToken cancellationToken) =>
            throw new NotSupportedException("The raw TCP ping-pong has no reconnect layer.");

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<ReadOnlyMemory<byte>> EchoAsync(int lane, byte[] payload)
        {
            var length = 4 + payload.Length;
            if (_send.Length < length)
            {
                _send = new byte[length];
                _receive = new byte[length];
            }

            BinaryPrimitives.WriteInt32LittleEndian(_send, payload.Length);
            payload.CopyTo(_send, 4);
            int answer;
            if (_clientTls is null)
            {
                await SendAllAsync(_client, _send.AsMemory(0, length));
                answer = await ReceiveMessageAsync(_client, _receive);
            }
            else
            {
                await _clientTls.WriteAsync(_send.AsMemory(0, length));
                answer = await ReceiveMessageAsync(_clientTls, _receive);
            }

            if (answer != payload.Length)
            {
                throw new IOException($"Bad answer length {answer}.");
            }

            return _receive.AsMemory(4, answer);
        }

        public async ValueTask DisposeAsync()
        {
            if (_clientTls is not null)
            {
                await _clientTls.DisposeAsync();
            }

            _client.Dispose();
            _server.Dispose();
            _listener.Dispose();
            await _serving.ContinueWith(static _ => { }, TaskScheduler.Default);
            if (_serverTls is not null)
            {
                await _serverTls.DisposeAsync();
            }
        }

        private async Task ServeAsync()
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    if (_serverTls is null)
                    {
                        var length = await ReceiveMessageAsync(_server, buffer);
                        await SendAllAsync(_server, buffer.AsMemory(0, 4 + length));
                    }
                    else
                    {
                        var length = await ReceiveMessageAsync(_serverTls, buffer);
                        await _serverTls.WriteAsync(buffer.AsMemory(0, 4 + length));
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
            {
                // The client closed: the normal end.
            }
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
        {
            while (!data.IsEmpty)
            {
                data = data[await socket.SendAsync(data, SocketFlags.None)..];
            }
        }

        /// <summary>Reads one <c>[length:u32][bytes]</c> message into <paramref name="buffer"/> (usually one receive); returns its length.</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private static async ValueTask<int> ReceiveMessageAsync(Socket socket, byte[] buffer)
        {
            var received = 0;
            var total = int.MaxValue;
            while (received < total)
            {
                received += Received(await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None));
                total = TotalOnceKnown(buffer, received, total);
            }

            return total - 4;
        }

        private static int Received(int read) => read > 0 ? read : throw new IOException("The peer closed the connection.");

        /// <summary>The whole message's size (header included) once its 4-byte header is in; until then <paramref name="total"/>.</summary>
        private static int TotalOnceKnown(byte[] buffer, int received, int total)
        {
            if (total != int.MaxValue || received < 4)
            {
                return total;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(buffer);
            return length >= 0 && length <= buffer.Length - 4
                ? 4 + length
                : throw new IOException($"A message of {length} bytes does not fit the {buffer.Length}-byte buffer.");
        }

        /// <summary>The same over TLS (usually one read: the peer writes each message as one TLS record).</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private static async ValueTask<int> ReceiveMessageAsync(SslStream stream, byte[] buffer)
        {
            var received = 0;
            var total = int.MaxValue;
            while (received < total)
            {
                received += Received(await stream.ReadAsync(buffer.AsMemory(received)));
                total = TotalOnceKnown(buffer, received, total);
            }

            return total - 4;
        }
    }
}
