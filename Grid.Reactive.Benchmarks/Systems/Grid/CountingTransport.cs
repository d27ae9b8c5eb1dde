using System.Buffers.Binary;
using System.Collections.Concurrent;
using Grid.Reactive.Benchmarks.Systems;
using Grid.Reactive.Protocol;
using Grid.Reactive.Transport;

namespace Grid.Reactive.Benchmarks.GridSystem;

/// <summary>
/// A transport that hands another's links through, counting on each the messages its writer sends and the frames they
/// carry (a merged message's count is in its header). The counts are per link, written only by that link's writer
/// context, so counting adds no shared write to the hot path; <see cref="Sends"/> sums them when asked.
/// </summary>
internal sealed class CountingTransport(GridTransport inner) : GridTransport
{
    private readonly ConcurrentBag<CountingLink> _links = [];

    /// <summary>Messages and frames sent by every link so far, both ways (both ends of every link are in this process).</summary>
    public SendCount Sends
    {
        get
        {
            long messages = 0, frames = 0;
            foreach (var link in _links)
            {
                messages += Volatile.Read(ref link.Messages);
                frames += Volatile.Read(ref link.Frames);
            }

            return new SendCount(messages, frames);
        }
    }

    internal override ValueTask<IAsyncDisposable> ListenAsync(string localAddress, LinkSettings settings, Action<ILink> onAccepted,
        CancellationToken cancellationToken) =>
        inner.ListenAsync(localAddress, settings, link => onAccepted(Count(link)), cancellationToken);

    internal override async ValueTask<ILink> DialAsync(string localAddress, string remoteAddress, LinkSettings settings,
        CancellationToken cancellationToken) =>
        Count(await inner.DialAsync(localAddress, remoteAddress, settings, cancellationToken));

    private CountingLink Count(ILink link)
    {
        var counting = new CountingLink(link);
        _links.Add(counting);
        return counting;
    }

    /// <summary>The frames in one written message: the count of a merged message, else one.</summary>
    internal static int FramesIn(ReadOnlySpan<byte> message) =>
        message.Length >= FrameCodec.MergedHeaderSize && message[9] == (byte)Op.Merged && message[1] == 0 && message[2] == 0xce
            ? (int)BinaryPrimitives.ReadUInt32BigEndian(message[3..])
            : 1;

    private sealed class CountingLink(ILink inner) : ILink, ILinkHandler
    {
        public long Messages;
        public long Frames;
        private ILinkHandler? _handler;

        public string Description => inner.Description;

        public Task Ended => inner.Ended;

        public ReadOnlyMemory<byte> ChannelBinding => inner.ChannelBinding;

        public void Start(ILinkHandler handler)
        {
            _handler = handler;
            inner.Start(this);
        }

        public void RequestFlush() => inner.RequestFlush();

        public void Close(Exception? reason) => inner.Close(reason);

        public void Admit() => inner.Admit();

        public void OnMessage(ReadOnlyMemory<byte> message) => _handler!.OnMessage(message);

        public bool TryWriteMessage(PooledBufferWriter output)
        {
            var before = output.WrittenCount;
            if (!_handler!.TryWriteMessage(output))
            {
                return false;
            }

            Volatile.Write(ref Messages, Messages + 1);
            Volatile.Write(ref Frames, Frames + FramesIn(output.WrittenSpan[before..]));
            return true;
        }

        public void OnClosed(Exception? error) => _handler!.OnClosed(error);
    }
}
