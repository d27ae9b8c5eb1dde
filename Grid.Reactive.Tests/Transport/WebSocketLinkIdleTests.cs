using System.Text;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Tests.Transport;

/// <summary>What a WebSocket link holds while its connection is idle: no receive buffer, no send buffer.</summary>
public sealed class WebSocketLinkIdleTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Test]
    public async Task BetweenMessages_TheReaderWaitsWithAZeroByteReceive_AndTakesABufferOnlyForAMessage()
    {
        var socket = new ScriptedWebSocket();
        var link = new WebSocketLink(socket, maxMessageSize: 1 << 20, receiveBufferSize: 16 * 1024, "scripted", admitted: true);
        var handler = new RecordingLinkHandler();
        handler.Attach(link);

        await socket.WaitForReceivesAsync(1).WaitAsync(Guard);
        socket.Deliver(Encoding.UTF8.GetBytes("hello"));
        await handler.WaitForMessagesAsync(1).WaitAsync(Guard);
        socket.Deliver([]);
        socket.Deliver(Encoding.UTF8.GetBytes("world"));
        await handler.WaitForMessagesAsync(3).WaitAsync(Guard);
        await socket.WaitForReceivesAsync(6).WaitAsync(Guard);

        Assert.That(handler.ReceivedTexts, Is.EqualTo(new[] { "hello", "", "world" }));
        Assert.That(socket.ReceiveSizes, Is.EqualTo(new[] { 0, 16 * 1024, 0, 0, 16 * 1024, 0 }),
            "a zero-byte wait before each message (an empty one ends in it), a buffer only to read a message");
        link.Close(null);
        await link.Ended.WaitAsync(Guard);
    }

    [Test]
    public void PooledBufferWriter_Release_GivesItsArrayBack_AndTheNextWriteTakesOneAgain()
    {
        using var writer = new PooledBufferWriter(64);
        writer.GetSpan(3)[..3].Fill(1);
        writer.Advance(3);

        writer.Release();

        Assert.That(writer.WrittenCount, Is.Zero);
        Assert.That(writer.WrittenMemory.Length, Is.Zero);
        writer.GetSpan(5)[..5].Fill(2);
        writer.Advance(5);
        Assert.That(writer.WrittenMemory.ToArray(), Is.EqualTo(new byte[] { 2, 2, 2, 2, 2 }));
    }
}
