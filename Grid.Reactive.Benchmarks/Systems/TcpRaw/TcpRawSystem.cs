using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.TcpRaw;

/// <summary>
/// The latency floor: a raw TCP socket ping-pong on loopback (Nagle off). Each request is <c>[length:u32][bytes]</c>,
/// echoed whole. One call in flight, two nodes: it answers scenario 1 at concurrency 1 only.
/// </summary>
public sealed class TcpRawSystem : IEchoSystem
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
        return new Pair(listener, server, client);
    }

    private sealed class Pair : IEchoCluster, IEchoClient
    {
        private readonly Socket _listener;
        private readonly Socket _server;
        private readonly Socket _client;
        private readonly Task _serving;
        private byte[] _send = new byte[4096];
        private byte[] _receive = new byte[4096];

        public Pair(Socket listener, Socket server, Socket client)
        {
            _listener = listener;
            _server = server;
            _client = client;
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
            await SendAllAsync(_client, _send.AsMemory(0, length));
            var answer = await ReceiveMessageAsync(_client, _receive);
            if (answer != payload.Length)
            {
                throw new IOException($"Bad answer length {answer}.");
            }

            return _receive.AsMemory(4, answer);
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            _server.Dispose();
            _listener.Dispose();
            await _serving.ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        private async Task ServeAsync()
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var length = await ReceiveMessageAsync(_server, buffer);
                    await SendAllAsync(_server, buffer.AsMemory(0, 4 + length));
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
                var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None);
                if (read == 0)
                {
                    throw new IOException("The peer closed the connection.");
                }

                received += read;
                if (total == int.MaxValue && received >= 4)
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(buffer);
                    if (length < 0 || length > buffer.Length - 4)
                    {
                        throw new IOException($"A message of {length} bytes does not fit the {buffer.Length}-byte buffer.");
                    }

                    total = 4 + length;
                }
            }

            return total - 4;
        }
    }
}
