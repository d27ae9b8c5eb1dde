using Grid.Reactive.Tests.Support;
using MessagePack;
using Microsoft.Reactive.Testing;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Streams;

[MessagePackObject]
public sealed record Reading([property: Key(0)] string Sensor, [property: Key(1)] double Value);

[MessagePackObject]
public sealed record Summary([property: Key(0)] int Count, [property: Key(1)] double Total);

[MessagePackObject]
public sealed record Query([property: Key(0)] string Prefix, [property: Key(1)] int Limit);

[MessagePackObject]
public sealed record Unrelated([property: Key(0)] int A, [property: Key(1)] int B);

public sealed class TypedHandlerTests
{
    private static readonly TypedRequest<Reading, Summary> Record = new(new HandlerId(40));
    private static readonly TypedRequest<Unrelated, Summary> UnrelatedOnRecord = new(new HandlerId(40));
    private static readonly TypedRequest<Reading, Reading> EchoReading = new(new HandlerId(41));
    private static readonly TypedRequest<Reading, Summary> EchoReadingMisread = new(new HandlerId(41));
    private static readonly TypedStream<Query, Reading, Summary> Totals = new(new HandlerId(42), subroute: "disk-1");
    private static readonly TypedStream<Query, Reading, Reading> Filter = new(new HandlerId(43), new StreamHandlerOptions { InCapacity = 0 });

    private VirtualGrid _grid = null!;

    [SetUp]
    public void SetUp()
    {
        _grid = new VirtualGrid(["a", "b"]).StartAll();
        var b = _grid["b"];
        Record.Register(b, (reading, _) => reading.Value < 0
            ? throw new ArgumentOutOfRangeException(nameof(reading), "negative reading")
            : ValueTask.FromResult(new Summary(1, reading.Value)));
        EchoReading.Register(b, (reading, _) => ValueTask.FromResult(reading));
        Totals.Register(b, (query, incoming) => incoming
            .Where(r => r.Sensor.StartsWith(query.Prefix, StringComparison.Ordinal))
            .Scan(new Summary(0, 0), (s, r) => new Summary(s.Count + 1, s.Total + r.Value))
            .Take(query.Limit));
        Filter.Register(b, async (stream, cancellationToken) =>
        {
            for (var i = 0; i < stream.Payload.Limit; i++)
            {
                await stream.SendAsync(new Reading($"{stream.Payload.Prefix}{i}", i), cancellationToken);
            }
        });
        _grid.RunMs(10);
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    [Test]
    public void TypedRequest_ReadsPayloadsAsUntrustedData_SoADeeplyNestedOneIsRefused_NotAStackOverflow()
    {
        var nested = new TypedRequest<object[], int>(new HandlerId(44));
        nested.Register(_grid["b"], (value, _) => ValueTask.FromResult(value.Length));

        // 100,000 arrays, each holding the next: read as trusted data, this recursion would overflow the stack.
        var hostile = Enumerable.Repeat((byte)0x91, 100_000).Append((byte)0xC0).ToArray();
        var answer = _grid.Scheduler.CreateObserver<byte[]>();
        _grid["a"].Connection("b").Request(new HandlerId(44), hostile).Subscribe(answer);
        _grid.RunMs(10);

        Assert.That(answer.Messages.Single().Value.Exception, Is.TypeOf<RemoteException>().With.Message.Contains("is not a valid"));
        Assert.That(_grid["a"].Connection("b").State, Is.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public void TypedRequest_RoundTrip_AndRemoteError()
    {
        var ok = _grid.Scheduler.CreateObserver<Summary>();
        var failed = _grid.Scheduler.CreateObserver<Summary>();

        Record.Call(_grid["a"].Connection("b"), new Reading("t1", 21.5)).Subscribe(ok);
        Record.Call(_grid["a"].Connection("b"), new Reading("t1", -1)).Subscribe(failed);
        _grid.RunMs(10);

        Assert.That(ok.Messages[0].Value.Value, Is.EqualTo(new Summary(1, 21.5)));
        Assert.That(failed.Messages.Single().Value.Exception, Is.TypeOf<RemoteException>().With.Message.Contains("negative reading"));
    }

    [Test]
    public void TypedRequest_WhenTheServerCannotReadTheRequest_OnlyThatCallFails()
    {
        var misread = _grid.Scheduler.CreateObserver<Summary>();
        var fine = _grid.Scheduler.CreateObserver<Summary>();

        UnrelatedOnRecord.Call(_grid["a"].Connection("b"), new Unrelated(1, 2)).Subscribe(misread);
        Record.Call(_grid["a"].Connection("b"), new Reading("t", 1)).Subscribe(fine);
        _grid.RunMs(10);

        Assert.That(misread.Messages.Single().Value.Exception, Is.TypeOf<RemoteException>().With.Message.Contains("not a valid Reading"));
        Assert.That(fine.Messages[0].Value.Value, Is.EqualTo(new Summary(1, 1)));
        Assert.That(_grid["a"].Connection("b").State, Is.EqualTo(ConnectionState.Connected));
    }

    [Test]
    public void TypedRequest_WhenTheCallerCannotReadTheResponse_ItGetsAPayloadException()
    {
        var misread = _grid.Scheduler.CreateObserver<Summary>();

        EchoReadingMisread.Call(_grid["a"].Connection("b"), new Reading("t", 1)).Subscribe(misread);
        _grid.RunMs(10);

        Assert.That(misread.Messages.Single().Value.Exception, Is.TypeOf<PayloadException>().With.Message.Contains("not a valid Summary"));
    }

    [Test]
    public void TypedStream_TwoWay_WithSubroute()
    {
        var stream = Totals.Open(_grid["a"].Connection("b"), new Query("t", 2));
        var totals = _grid.Scheduler.CreateObserver<Summary>();
        stream.Subscribe(totals);

        stream.OnNext(new Reading("t1", 1));
        stream.OnNext(new Reading("x1", 100));
        stream.OnNext(new Reading("t2", 2));
        _grid.RunMs(10);

        Assert.That(totals.Messages.Where(m => m.Value.HasValue).Select(m => m.Value.Value),
            Is.EqualTo(new[] { new Summary(1, 1), new Summary(2, 3) }));
        Assert.That(totals.Messages.Last().Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnCompleted), "Take(2) ended the handler");
    }

    [Test]
    public void TypedStream_WithoutTheSubroute_IsNotFound()
    {
        var wrong = new TypedStream<Query, Reading, Summary>(Totals.Id);
        var observer = _grid.Scheduler.CreateObserver<Summary>();

        wrong.Open(_grid["a"].Connection("b"), new Query("t", 1)).Subscribe(observer);
        _grid.RunMs(10);

        Assert.That(observer.Messages.Single().Value.Exception, Is.TypeOf<HandlerNotFoundException>());
    }

    [Test]
    public void TypedClientStream_ReadAllAsync_PullsTypedMessages_AndLeavingEarlyCancelsTheStream()
    {
        static async Task<List<string>> Read(IAsyncEnumerable<Reading> readings, int most)
        {
            var read = new List<string>();
            await foreach (var reading in readings)
            {
                read.Add(reading.Sensor);
                if (read.Count == most)
                {
                    break;
                }
            }

            return read;
        }

        var all = Read(Filter.Open(_grid["a"].Connection("b"), new Query("s", 3)).ReadAllAsync(), int.MaxValue);
        var first = Read(Filter.Open(_grid["a"].Connection("b"), new Query("t", 100)).ReadAllAsync(), 1);
        _grid.RunMs(10);

        Assert.That(all.IsCompletedSuccessfully && first.IsCompletedSuccessfully, "both readers ran in virtual time");
        Assert.That(all.Result, Is.EqualTo(new[] { "s0", "s1", "s2" }));
        Assert.That(first.Result, Is.EqualTo(new[] { "t0" }));
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero, "leaving early cancelled the stream on both sides");
    }

    [Test]
    public void TypedClientStream_ReadAllAsync_AMessageThatCannotBeRead_ThrowsPayloadException_AndCancelsTheStream()
    {
        var misread = new TypedStream<Query, Reading, Summary>(Filter.Id);
        var reading = misread.Open(_grid["a"].Connection("b"), new Query("s", 100)).ReadAllAsync().GetAsyncEnumerator();

        var next = reading.MoveNextAsync().AsTask();
        _grid.RunMs(10);

        Assert.That(next.Exception?.InnerException, Is.TypeOf<PayloadException>().With.Message.Contains("not a valid Summary"));
        _grid.RunMs(10);
        Assert.That(_grid["a"].PendingCalls() + _grid["b"].PendingCalls(), Is.Zero, "the failed read cancelled the stream on both sides");
    }

    [Test]
    public void TypedStream_CreditAwareAsyncHandler_RunsInVirtualTime()
    {
        // The handler awaits SendAsync; it resumes through the grid's dispatcher, so it runs on the test scheduler.
        var readings = _grid.Scheduler.CreateObserver<string>();

        Filter.Open(_grid["a"].Connection("b"), new Query("s", 5)).Select(r => r.Sensor).Subscribe(readings);
        _grid.RunMs(10);

        Assert.That(readings.Messages.Where(m => m.Value.HasValue).Select(m => m.Value.Value), Is.EqualTo(new[] { "s0", "s1", "s2", "s3", "s4" }));
        Assert.That(readings.Messages.Last().Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnCompleted));
    }
}
