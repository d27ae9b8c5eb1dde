using System.Reactive.Concurrency;
using System.Reactive.Threading.Tasks;
using System.Text;
using Grid.Reactive.Connections;
using Grid.Reactive.Muxing;
using Grid.Reactive.Muxing.Streams;
using Grid.Reactive.Protocol;
using Grid.Reactive.Tests.Connections;
using Grid.Reactive.Tests.Streams;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Handlers;

/// <summary>Structured remote errors: a code and the exception's type name beside the message, over the wire, both ways compatible.</summary>
public sealed class RemoteErrorTests
{
    private static readonly HandlerId Coded = new(67);
    private static readonly HandlerId Io = new(68);
    private static readonly HandlerId CodedStream = new(69);
    private static readonly TypedRequest<Reading, Summary> Typed = new(new HandlerId(70));
    private static readonly TypedRequest<Unrelated, Summary> Misread = new(new HandlerId(70));

    private VirtualGrid _grid = null!;

    [SetUp]
    public void SetUp()
    {
        _grid = new VirtualGrid(["a", "b"]).StartAll();
        var b = _grid["b"];
        b.Register(Coded, (payload, _) => throw new GridErrorException("disk-full", "Disk " + Text(payload) + " is full."));
        b.Register(Io, (_, _) => ThrowDeep());
        Typed.Register(b, (reading, _) => ValueTask.FromResult(new Summary(1, reading.Value)));
        b.RegisterStream(CodedStream, async (stream, cancellationToken) =>
        {
            var sent = Text(stream.Payload);
            if (sent == "refuse")
            {
                throw new GridErrorException("not-found", "No such directory.");
            }

            await stream.SendAsync(Bytes("entry"), cancellationToken);
            throw new GridErrorException("io", "The disk went away.");
        }, new StreamHandlerOptions { InCapacity = 0 });
        _grid.RunMs(10);
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    private static ValueTask<byte[]> ThrowDeep() => throw new IOException("The device is not ready.");

    [Test]
    public void AHandlersGridErrorException_ReachesTheCallerWithItsCode_AndType()
    {
        var call = _grid["a"].Connection("b").RequestAsync(Coded, Bytes("2"));
        _grid.RunMs(10);

        var error = (RemoteException)call.Exception!.InnerException!;
        Assert.That(error.Message, Is.EqualTo("Disk 2 is full."));
        Assert.That(error.ErrorCode, Is.EqualTo("disk-full"));
        Assert.That(error.RemoteType, Is.EqualTo(typeof(GridErrorException).FullName));
    }

    [Test]
    public void AnyOtherException_IsUnhandled_WithItsTypeName_AndNoStackTraceOnTheWire()
    {
        var responses = new List<byte[]>();
        using var trace = _grid["a"].Connection("b").FramesIn.Where(f => f.Op == Op.Response).Subscribe(f => responses.Add(f.Payload.ToArray()));
        var call = _grid["a"].Connection("b").RequestAsync(Io, Bytes("x"));
        _grid.RunMs(10);

        var error = (RemoteException)call.Exception!.InnerException!;
        Assert.That((error.Message, error.ErrorCode, error.RemoteType),
            Is.EqualTo(("The device is not ready.", RemoteErrorCodes.Unhandled, "System.IO.IOException")));
        Assert.That(responses.Single(), Is.EqualTo(RemoteErrorPayload.Encode("The device is not ready.", "unhandled", "System.IO.IOException", 1 << 20)),
            "the message, the code and the type: nothing else, no stack trace");
        Assert.That(Encoding.UTF8.GetString(responses.Single()), Does.Not.Contain(nameof(ThrowDeep)));
    }

    [Test]
    public void ATypedRequestTheServerCannotRead_FailsWithInvalidPayload()
    {
        var call = Misread.CallAsync(_grid["a"].Connection("b"), new Unrelated(1, 2));
        _grid.RunMs(10);

        var error = (RemoteException)call.Exception!.InnerException!;
        Assert.That(error.ErrorCode, Is.EqualTo(RemoteErrorCodes.InvalidPayload));
        Assert.That(error.RemoteType, Is.EqualTo(typeof(PayloadException).FullName));
        Assert.That(error.Message, Does.Contain("not a valid Reading"));
    }

    [Test]
    public void StreamErrors_CarryTheCode_WhenRefused_AndWhenEndedAfterMessages()
    {
        var refused = _grid.Scheduler.CreateObserver<string>();
        var ended = _grid.Scheduler.CreateObserver<string>();

        _grid["a"].Connection("b").NewStream(CodedStream, Bytes("refuse")).Select(Text).Subscribe(refused);
        _grid["a"].Connection("b").NewStream(CodedStream, Bytes("walk")).Select(Text).Subscribe(ended);
        _grid.RunMs(10);

        var refusal = (RemoteException)refused.Messages.Single().Value.Exception!;
        Assert.That((refusal.Message, refusal.ErrorCode), Is.EqualTo(("No such directory.", "not-found")));
        Assert.That(ended.Messages[0].Value.Value, Is.EqualTo("entry"));
        var end = (RemoteException)ended.Messages[1].Value.Exception!;
        Assert.That((end.Message, end.ErrorCode, end.RemoteType), Is.EqualTo(("The disk went away.", "io", typeof(GridErrorException).FullName)));
    }

    [Test]
    public void AnOldNodesPlainTextError_StillDecodes_AsAMessageWithoutCodeOrType()
    {
        var request = RemoteErrors.From(new Frame(Op.Response, 1, flags: FrameFlags.Error, payload: Bytes("boom: old")), Echo, "b");
        var stream = StreamErrors.FromErrorFrame(new Frame(Op.StreamCloseToClient, 1, 3, flags: FrameFlags.Error, payload: Bytes("old end")));

        Assert.That(request, Is.TypeOf<RemoteException>().With.Message.EqualTo("boom: old"));
        Assert.That(((RemoteException)request).ErrorCode, Is.Null);
        Assert.That(((RemoteException)request).RemoteType, Is.Null);
        Assert.That(stream, Is.TypeOf<RemoteException>().With.Message.EqualTo("old end"));
        Assert.That(((RemoteException)stream).ErrorCode, Is.Null);
    }

    [Test]
    public void AnOldNodeReadingTheNewLayout_SeesTheMessageFirst()
    {
        var payload = RemoteErrorPayload.Encode("Disk 2 is full.", "disk-full", "Grid.Reactive.GridErrorException", 1 << 20);

        // What a node before structured errors does with it: the whole payload as UTF-8 text.
        var asOldNodeSees = Encoding.UTF8.GetString(payload);

        Assert.That(asOldNodeSees, Does.StartWith("Disk 2 is full.\uFFFD"));
        Assert.That(asOldNodeSees, Does.Contain("disk-full").And.Contain("Grid.Reactive.GridErrorException"));
    }

    [Test]
    public void Decode_IsTotal_AMalformedTrailerKeepsTheMessage_AndALongMessageIsCutAtACharacterBoundary()
    {
        Assert.That(RemoteErrorPayload.Decode([.. Bytes("text"), 0xFF, 0xC1]), Is.EqualTo(("text", (string?)null, (string?)null)));
        Assert.That(RemoteErrorPayload.Decode([0xFF]), Is.EqualTo(("", (string?)null, (string?)null)));
        Assert.That(RemoteErrorPayload.Decode([]), Is.EqualTo(("", (string?)null, (string?)null)));

        var message = string.Concat(Enumerable.Repeat("é", 5000)); // two UTF-8 bytes each
        var payload = RemoteErrorPayload.Encode(message, "c", "T", 4096);
        var (decoded, code, type) = RemoteErrorPayload.Decode(payload);

        Assert.That(payload.Length, Is.LessThanOrEqualTo(4096));
        Assert.That(message, Does.StartWith(decoded), "cut, never mangled");
        Assert.That((code, type), Is.EqualTo(("c", "T")));
    }

    [Test]
    public async Task AMessageAsLongAsTheLargestRequest_CrossesWhole_WithItsCode()
    {
        // An error frame has no subroute, so the message may use that room too: echoing the largest request in the
        // message (as a handler that reports its input does) still fits, and only a longer one would be cut.
        await using var small = new VirtualGrid(["a", "b"], o => o with { MaxMessageSize = 4096, MaxMergedMessageSize = 4096 }).StartAll();
        small["b"].Register(Coded, (payload, _) => throw new InvalidOperationException("fail:" + Text(payload)));
        small.RunMs(10);
        var largest = new string('x', 4096 - 256 - 64);

        var call = small["a"].Connection("b").RequestAsync(Coded, Bytes(largest));
        small.RunMs(10);

        var error = (RemoteException)call.Exception!.InnerException!;
        Assert.That(error.Message, Is.EqualTo("fail:" + largest));
        Assert.That(error.ErrorCode, Is.EqualTo(RemoteErrorCodes.Unhandled));
    }

    [Test]
    public void Decode_OfHostileBytes_NeverThrows()
    {
        // A peer's error payload is untrusted: whatever follows the separator, decoding yields a message.
        var random = new Random(11);
        var valid = RemoteErrorPayload.Encode("m", "code", "Type", 1 << 20);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = i % 2 == 0 ? new byte[random.Next(0, 40)] : (byte[])valid.Clone();
            if (i % 2 == 0)
            {
                random.NextBytes(bytes);
            }
            else
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            if (bytes.Length > 0 && i % 3 == 0)
            {
                bytes[random.Next(bytes.Length)] = 0xFF;
            }

            Assert.That(() => RemoteErrorPayload.ToException(bytes), Throws.Nothing, Convert.ToHexString(bytes));
        }
    }

    [Test]
    public void AGridErrorCode_IsBounded()
    {
        Assert.That(() => new GridErrorException("", "m"), Throws.ArgumentException);
        Assert.That(() => new GridErrorException(new string('c', GridErrorException.MaxErrorCodeLength + 1), "m"), Throws.ArgumentException);
        Assert.That(new GridErrorException("just a message").ErrorCode, Is.EqualTo(RemoteErrorCodes.Unhandled));
    }

    [Test]
    public async Task Real_AnOldNodeAnsweringWithPlainText_GivesARemoteExceptionWithTheMessageOnly()
    {
        // The raw peer plays a node from before structured errors: it answers a call with an error in the old layout.
        await using var pair = await NodeWithRawPeer.StartAsync();
        var peer = pair.Peer;

        var call = pair.ToPeer.RequestAsync(Echo, Bytes("x"));
        Assert.That(SpinWait.SpinUntil(() => Requests(peer).Length == 1, RealGrid.Guard), Is.True);
        peer.Send(new Frame(Op.Response, Requests(peer)[0].MuxId, flags: FrameFlags.Error, payload: Encoding.UTF8.GetBytes("boom: from an old node")));

        var error = Assert.ThrowsAsync<RemoteException>(() => call.WaitAsync(RealGrid.Guard));
        Assert.That((error!.Message, error.ErrorCode, error.RemoteType), Is.EqualTo(("boom: from an old node", (string?)null, (string?)null)));
    }

    private static Frame[] Requests(RawPeer peer) => [.. peer.Snapshot().Where(f => f.Op == Op.Request)];
}
