using Grid.Reactive.Muxing;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Tests.Muxing;

public sealed class OutboundQueueTests
{
    private sealed class CountingLink : ILink
    {
        public int Flushes { get; private set; }

        public string Description => "test";

        public void Start(ILinkHandler handler) { }

        public void RequestFlush() => Flushes++;

        public void Close(Exception? reason) { }
    }

    private static List<List<Frame>> Drain(OutboundQueue queue, int maxBytes)
    {
        var messages = new List<List<Frame>>();
        using var output = new PooledBufferWriter();
        while (true)
        {
            output.Clear();
            if (!queue.TryWriteMessage(output))
            {
                return messages;
            }

            var frames = new List<Frame>();
            var reader = new MessageReader(output.WrittenMemory.ToArray());
            while (reader.TryRead(out var frame))
            {
                frames.Add(frame);
            }

            if (frames.Count > 1)
            {
                Assert.That(output.WrittenCount, Is.LessThanOrEqualTo(maxBytes), "a merged message stays under the bound");
            }

            messages.Add(frames);
        }
    }

    [Test]
    public void QueuedFrames_ComeOutInOrder_MergedWithinBothBounds_AndLargeOnesAlone()
    {
        const int maxBytes = 4096;
        const int maxFrames = 8;
        var link = new CountingLink();
        var queue = new OutboundQueue(link, checksums: false, maxBytes, maxFrames);
        var random = new Random(3);
        var sizes = Enumerable.Range(0, 500).Select(_ => random.Next(10) == 0 ? random.Next(4000, 20000) : random.Next(0, 600)).ToArray();
        for (var i = 0; i < sizes.Length; i++)
        {
            queue.Enqueue(new Frame(Op.Request, (ulong)i + 1, handlerId: 1, payload: new byte[sizes[i]], flags: sizes[i] == 0 ? FrameFlags.Empty : FrameFlags.None));
        }

        var messages = Drain(queue, maxBytes);

        Assert.That(link.Flushes, Is.EqualTo(1), "one flush request while the writer owned the queue");
        Assert.That(messages.SelectMany(m => m).Select(f => f.MuxId), Is.EqualTo(Enumerable.Range(1, 500).Select(i => (ulong)i)));
        Assert.That(messages.SelectMany(m => m).Select(f => f.Payload.Length), Is.EqualTo(sizes));
        Assert.That(messages, Has.All.Count.InRange(1, maxFrames));
        Assert.That(messages.Where(m => m.Count > 1).SelectMany(m => m), Has.None.Matches<Frame>(f => f.Payload.Length > maxBytes));
        Assert.That(messages.Count, Is.LessThan(250), "small frames were merged");

        queue.Enqueue(new Frame(Op.Ping));
        Assert.That(link.Flushes, Is.EqualTo(2), "after the writer gave the queue up, the next frame asks for a flush again");
    }
}
