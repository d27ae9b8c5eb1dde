using System.Net;
using System.Net.WebSockets;
using Grid.Reactive.Transport;
using NUnit.Framework;

namespace Grid.Reactive.Tests.Transport;

/// <summary>
/// The WebSocket transport over real loopback sockets (127.0.0.1 only, ports picked free at run time). Nothing sleeps:
/// tests wait on signals, with a generous guard only to fail instead of hanging.
/// </summary>
public sealed class WebSocketTransportTests
{
    // These tests drive links without a handshake: admit accepted links to their full size limit, as a session does
    // once the handshake succeeds (until then an accepted link takes only small messages; see UnauthenticatedPeerTests).
    private static ILink Admitted(ILink link)
    {
        link.Admit();
        return link;
    }

    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly LinkSettings Settings = new(MaxMessageSize: 4 * 1024 * 1024);

    private readonly List<IAsyncDisposable> _listeners = [];
    private readonly List<ILink> _links = [];
    private WebSocketTransport _transport = null!;

    [SetUp]
    public void SetUp() => _transport = new WebSocketTransport();

    [TearDown]
    public async Task TearDown()
    {
        foreach (var link in _links)
        {
            link.Close(null);
        }

        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync().AsTask().WaitAsync(Guard);
        }
    }

    [Test]
    public async Task Dial_and_accept_make_a_linked_pair()
    {
        var (client, server, _) = await ConnectAsync();

        Assert.That(client.Link!.Description, Does.StartWith("ws client -> 127.0.0.1:"));
        Assert.That(server.Link!.Description, Does.Contain(" <- 127.0.0.1:"));
        client.Send("hello");
        server.Send("hi");
        await server.WaitForMessagesAsync(1).WaitAsync(Guard);
        await client.WaitForMessagesAsync(1).WaitAsync(Guard);
        Assert.That(server.ReceivedTexts, Is.EqualTo(new[] { "hello" }));
        Assert.That(client.ReceivedTexts, Is.EqualTo(new[] { "hi" }));
    }

    [Test]
    public async Task Messages_of_every_size_arrive_whole_and_in_order_both_ways()
    {
        var (client, server, _) = await ConnectAsync();
        int[] sizes = [0, 1, 100 * 1024, 0, 3 * 1024 * 1024, 1, 17, 65536, 65537];
        var fromClient = sizes.Concat(Enumerable.Range(0, 300).Select(i => i % 50)).Select((n, i) => Pattern(n, i)).ToArray();
        var fromServer = sizes.Reverse().Concat(Enumerable.Range(0, 300).Select(i => i % 70)).Select((n, i) => Pattern(n, i + 7)).ToArray();

        client.Send(fromClient);
        server.Send(fromServer);
        await server.WaitForMessagesAsync(fromClient.Length).WaitAsync(Guard);
        await client.WaitForMessagesAsync(fromServer.Length).WaitAsync(Guard);

        Assert.That(server.Received.Select(m => m.Bytes), Is.EqualTo(fromClient));
        Assert.That(client.Received.Select(m => m.Bytes), Is.EqualTo(fromServer));
        Assert.That(client.Violations + server.Violations, Is.Zero);
    }

    [Test]
    public async Task An_oversized_message_closes_the_receivers_link_with_a_ProtocolException()
    {
        var (client, server, _) = await ConnectAsync(serverSettings: new LinkSettings(MaxMessageSize: 64 * 1024));

        client.Send(Pattern(64 * 1024, 1));
        await server.WaitForMessagesAsync(1).WaitAsync(Guard);
        client.Send(Pattern(64 * 1024 + 1, 2), Pattern(10, 3));

        var serverError = await server.Closed.WaitAsync(Guard);
        Assert.That(serverError, Is.TypeOf<ProtocolException>().With.Message.Contains("larger than the 65536 bytes"));
        var clientError = await client.Closed.WaitAsync(Guard);
        Assert.That(clientError, Is.Not.Null, "the sender learns that its link failed");
        Assert.That(server.Received, Has.Count.EqualTo(1), "nothing is delivered after the oversized message");
        Assert.That(client.ClosedCount + server.ClosedCount, Is.EqualTo(2));
    }

    [Test]
    public async Task Flush_requests_from_many_threads_send_each_queued_message_exactly_once_in_order()
    {
        var (client, server, _) = await ConnectAsync();
        const int Batches = 1000;
        const int BatchSize = 8;
        const int Count = Batches * BatchSize;
        var messages = Enumerable.Range(0, Count).Select(i => BitConverter.GetBytes(i)).ToArray();

        using var go = new ManualResetEventSlim();
        var producer = Task.Factory.StartNew(() =>
        {
            go.Wait();
            for (var b = 0; b < Batches; b++)
            {
                client.Queue(messages[(b * BatchSize)..((b + 1) * BatchSize)]);
                client.Link!.RequestFlush();
            }
        }, TaskCreationOptions.LongRunning);
        var requesters = Enumerable.Range(0, 6).Select(_ => Task.Factory.StartNew(() =>
        {
            go.Wait();
            for (var i = 0; i < 2000; i++)
            {
                client.Link!.RequestFlush();
            }
        }, TaskCreationOptions.LongRunning)).Append(producer).ToArray();
        go.Set();
        await Task.WhenAll(requesters).WaitAsync(Guard);

        // A marker sent last: any duplicate or extra message would arrive before it.
        client.Send(BitConverter.GetBytes(-1));
        await server.WaitForMessagesAsync(Count + 1).WaitAsync(Guard);
        Assert.That(server.Received.Select(m => BitConverter.ToInt32(m.Bytes)), Is.EqualTo(Enumerable.Range(0, Count).Append(-1)));
        Assert.That(client.Violations, Is.Zero, "TryWriteMessage was never called concurrently or with a dirty buffer");
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task An_orderly_close_from_either_side_gives_both_sides_one_OnClosed_with_null(bool clientCloses)
    {
        var (client, server, _) = await ConnectAsync();
        var (closer, other) = clientCloses ? (client, server) : (server, client);

        other.Send("before the close");
        await closer.WaitForMessagesAsync(1).WaitAsync(Guard);
        closer.Link!.Close(null);
        closer.Link!.Close(new InvalidOperationException("ignored: already closed"));

        Assert.That(await closer.Closed.WaitAsync(Guard), Is.Null);
        Assert.That(await other.Closed.WaitAsync(Guard), Is.Null);
        other.Link!.Close(null);

        // The close handshake completes: both readers end and both sockets are disposed.
        await CompletionOf(client).WaitAsync(Guard);
        await CompletionOf(server).WaitAsync(Guard);
        Assert.That(closer.ClosedCount, Is.EqualTo(1));
        Assert.That(other.ClosedCount, Is.EqualTo(1));
        Assert.That(client.Violations + server.Violations, Is.Zero);
    }

    [Test]
    public async Task Close_with_an_error_gives_it_locally_and_a_DisconnectedException_to_the_peer()
    {
        var (client, server, _) = await ConnectAsync();
        var reason = new ProtocolException("bad frame");

        server.Link!.Close(reason);

        Assert.That(await server.Closed.WaitAsync(Guard), Is.SameAs(reason));
        // An error close sends its close frame only if the socket takes it at once, then aborts: the peer sees either
        // that close frame or the connection's end, and an error in both cases.
        var clientError = await client.Closed.WaitAsync(Guard);
        Assert.That(clientError, Is.Not.Null);
        if (clientError is DisconnectedException)
        {
            Assert.That(clientError.Message, Does.Contain("ProtocolError").And.Not.Contain("bad frame"), "the kind of error goes on the wire, its internal message does not");
        }
    }

    [Test]
    public async Task Messages_received_before_start_are_delivered_after_it()
    {
        var address = FreePort.NextAddress();
        var accepted = new TaskCompletionSource<ILink>(TaskCreationOptions.RunContinuationsAsynchronously);
        _listeners.Add(await _transport.ListenAsync(address, Settings, link => accepted.TrySetResult(Admitted(link)), CancellationToken.None));
        var client = new RecordingLinkHandler();
        client.Attach(Track(await _transport.DialAsync("client", address, Settings, CancellationToken.None)));
        var serverLink = Track(await accepted.Task.WaitAsync(Guard));

        client.Send("early 1", "early 2");
        client.Send("early 3");
        var server = new RecordingLinkHandler();
        server.Attach(serverLink);

        await server.WaitForMessagesAsync(3).WaitAsync(Guard);
        Assert.That(server.ReceivedTexts, Is.EqualTo(new[] { "early 1", "early 2", "early 3" }));
    }

    [Test]
    public async Task A_link_closed_before_start_reports_it_on_start_and_the_peer_sees_an_orderly_close()
    {
        var address = FreePort.NextAddress();
        var accepted = new TaskCompletionSource<ILink>(TaskCreationOptions.RunContinuationsAsynchronously);
        _listeners.Add(await _transport.ListenAsync(address, Settings, link => accepted.TrySetResult(Admitted(link)), CancellationToken.None));
        var client = new RecordingLinkHandler();
        client.Attach(Track(await _transport.DialAsync("client", address, Settings, CancellationToken.None)));
        var serverLink = await accepted.Task.WaitAsync(Guard);

        serverLink.Close(null);
        Assert.That(await client.Closed.WaitAsync(Guard), Is.Null);
        var server = new RecordingLinkHandler();
        server.Attach(serverLink);
        Assert.That(await server.Closed.WaitAsync(Guard), Is.Null);
        await CompletionOf(server).WaitAsync(Guard);
    }

    [Test]
    public async Task A_handler_closing_its_link_inside_OnMessage_gets_OnClosed_after_OnMessage_returns()
    {
        var address = FreePort.NextAddress();
        var accepted = new TaskCompletionSource<ILink>(TaskCreationOptions.RunContinuationsAsynchronously);
        _listeners.Add(await _transport.ListenAsync(address, Settings, link => accepted.TrySetResult(Admitted(link)), CancellationToken.None));
        var client = new RecordingLinkHandler();
        client.Attach(Track(await _transport.DialAsync("client", address, Settings, CancellationToken.None)));
        var server = new ClosingHandler { Link = await accepted.Task.WaitAsync(Guard) };
        server.Link.Start(server);

        client.Send("first", "second", "third");

        Assert.That(await server.Closed.Task.WaitAsync(Guard), Is.TypeOf<ProtocolException>());
        Assert.That(server.Messages, Is.EqualTo(1));
        Assert.That(server.Overlapped, Is.False);
        Assert.That(await client.Closed.WaitAsync(Guard), Is.Not.Null);
    }

    [Test]
    public void Dialing_a_port_nobody_listens_on_fails_naming_the_address()
    {
        var address = FreePort.NextAddress();
        var error = Assert.CatchAsync(async () => await _transport.DialAsync("client", address, Settings, CancellationToken.None));
        Assert.That(error, Is.InstanceOf<WebSocketException>().Or.InstanceOf<IOException>());
        Assert.That(error!.Message, Does.Contain(address));
    }

    [Test]
    public void Dialing_honours_cancellation()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.CatchAsync<OperationCanceledException>(async () =>
            await _transport.DialAsync("client", FreePort.NextAddress(), Settings, cancelled.Token));
    }

    [Test]
    public async Task Disposing_the_listener_closes_its_open_links_returns_and_stops_accepting()
    {
        var (client, server, listener) = await ConnectAsync();

        await listener.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.That(CompletionOf(server).IsCompleted, Is.True, "the server stopped only after its link was over");
        Assert.That(await server.Closed.WaitAsync(Guard), Is.TypeOf<DisconnectedException>());
        Assert.That(await client.Closed.WaitAsync(Guard), Is.Not.Null);
        await CompletionOf(client).WaitAsync(Guard);
        var address = client.Link!.Description["ws client -> ".Length..];
        Assert.CatchAsync(async () => await _transport.DialAsync("client", address, Settings, CancellationToken.None));
    }

    [Test]
    public async Task Disposing_the_listener_does_not_wait_for_a_link_nobody_started()
    {
        var address = FreePort.NextAddress();
        var accepted = new TaskCompletionSource<ILink>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = await _transport.ListenAsync(address, Settings, link => accepted.TrySetResult(Admitted(link)), CancellationToken.None);
        var client = new RecordingLinkHandler();
        client.Attach(Track(await _transport.DialAsync("client", address, Settings, CancellationToken.None)));
        await accepted.Task.WaitAsync(Guard);

        await listener.DisposeAsync().AsTask().WaitAsync(Guard);
        Assert.That(await client.Closed.WaitAsync(Guard), Is.Not.Null);
    }

    [Test]
    public async Task Plain_http_requests_get_400_on_the_grid_path_and_404_elsewhere()
    {
        var address = FreePort.NextAddress();
        _listeners.Add(await _transport.ListenAsync(address, Settings, _ => { }, CancellationToken.None));
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        using var onPath = await http.GetAsync(new Uri($"http://{address}/grid/v1")).WaitAsync(Guard);
        using var elsewhere = await http.GetAsync(new Uri($"http://{address}/other")).WaitAsync(Guard);

        Assert.That(onPath.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(elsewhere.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Listening_twice_on_the_same_port_fails()
    {
        var address = FreePort.NextAddress();
        _listeners.Add(await _transport.ListenAsync(address, Settings, _ => { }, CancellationToken.None));
        Assert.CatchAsync<IOException>(async () => await _transport.ListenAsync(address, Settings, _ => { }, CancellationToken.None));
    }

    [TestCase("127.0.0.1:7001", "127.0.0.1", 7001)]
    [TestCase("ws://127.0.0.1:7001", "127.0.0.1", 7001)]
    [TestCase("ws://127.0.0.1:7001/", "127.0.0.1", 7001)]
    [TestCase("node-3.example:80", "node-3.example", 80)]
    [TestCase("[::1]:7001", "[::1]", 7001)]
    public void Addresses_parse_as_host_and_port(string text, string host, int port)
    {
        var address = WebSocketAddress.Parse(text);
        Assert.That((address.Host, address.Port), Is.EqualTo((host, port)));
        var uri = address.WebSocketUri("/grid/v1");
        Assert.That((uri.Scheme, uri.Port, uri.AbsolutePath), Is.EqualTo(("ws", port, "/grid/v1")));
    }

    [TestCase("127.0.0.1")]
    [TestCase("http://127.0.0.1:7001")]
    [TestCase("ws://127.0.0.1:7001/path")]
    [TestCase("ws://127.0.0.1")]
    [TestCase("")]
    public void Malformed_addresses_are_refused(string text) =>
        Assert.Catch<ArgumentException>(() => WebSocketAddress.Parse(text));

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 31) + seed);
        }

        return bytes;
    }

    private ILink Track(ILink link)
    {
        _links.Add(link);
        return link;
    }

    private static Task CompletionOf(RecordingLinkHandler handler) => ((WebSocketLink)handler.Link!).Completion;

    private async Task<(RecordingLinkHandler Client, RecordingLinkHandler Server, IAsyncDisposable Listener)> ConnectAsync(
        LinkSettings? serverSettings = null, LinkSettings? clientSettings = null)
    {
        var address = FreePort.NextAddress();
        var accepted = new TaskCompletionSource<ILink>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = await _transport.ListenAsync(address, serverSettings ?? Settings, link => accepted.TrySetResult(Admitted(link)), CancellationToken.None);
        _listeners.Add(listener);

        var client = new RecordingLinkHandler();
        client.Attach(Track(await _transport.DialAsync("client", address, clientSettings ?? Settings, CancellationToken.None)));
        var server = new RecordingLinkHandler();
        server.Attach(Track(await accepted.Task.WaitAsync(Guard)));
        return (client, server, listener);
    }

    /// <summary>Closes its link with an error from inside the first OnMessage, and records whether OnClosed came while inside.</summary>
    private sealed class ClosingHandler : ILinkHandler
    {
        private int _inside;

        public ILink? Link { get; set; }

        public TaskCompletionSource<Exception?> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Messages { get; private set; }

        public bool Overlapped { get; private set; }

        public void OnMessage(ReadOnlyMemory<byte> message)
        {
            Volatile.Write(ref _inside, 1);
            Messages++;
            Link!.Close(new ProtocolException("refused"));

            // Give a wrongly queued OnClosed the chance to run while we are still inside.
            for (var i = 0; i < 100; i++)
            {
                Thread.Yield();
            }

            Volatile.Write(ref _inside, 0);
        }

        public bool TryWriteMessage(Grid.Reactive.Protocol.PooledBufferWriter output) => false;

        public void OnClosed(Exception? error)
        {
            Overlapped |= Volatile.Read(ref _inside) != 0;
            Closed.TrySetResult(error);
        }
    }
}
