using System.Globalization;
using System.Reactive.Threading.Tasks;
using System.Threading.Channels;
using Grid.Reactive.Tests.Support;
using static Grid.Reactive.Tests.Support.TestHandlers;

namespace Grid.Reactive.Tests.Streams;

/// <summary>
/// Credit-based flow control on real WebSockets and real threads, where a consumer can hold a message by blocking in
/// <c>OnNext</c>. Every wait is on an awaited signal; <see cref="RealGrid.Guard"/> only turns a hang into a failure.
/// </summary>
public sealed class BackpressureTests
{
    private static readonly HandlerId Produce = new(30);
    private static readonly HandlerId EchoWhenOpened = new(31);
    private static readonly HandlerId Flood = new(32);

    private static byte[] Number(int i) => Bytes(i.ToString(CultureInfo.InvariantCulture));

    [Test]
    public async Task ProducerNeverSendsMoreThanConsumedPlusTheWindow_Exactly()
    {
        const int window = 4;
        var stalls = Channel.CreateUnbounded<int>();
        await using var grid = await RealGrid.StartAsync(2, node => node.RegisterStream(Produce, async (stream, cancellationToken) =>
        {
            for (var i = 1; i <= 40; i++)
            {
                var send = stream.SendAsync(Number(i), cancellationToken);
                if (!send.IsCompleted && i > 1)
                {
                    stalls.Writer.TryWrite(i - 1); // out of credit with i - 1 messages sent (the first waits for the accept)
                }

                await send;
            }
        }, new StreamHandlerOptions { InCapacity = 0, OutCapacity = window }));
        using var gate = new SemaphoreSlim(0);
        var consumed = 0;
        var received = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = grid.From(0, 1).NewStream(Produce).Subscribe(
            m =>
            {
                gate.Wait(RealGrid.Guard);
                received.Add(Text(m));
                Interlocked.Increment(ref consumed);
            },
            e => done.TrySetException(e),
            () => done.TrySetResult());

        // The consumer holds the first message: the producer stops with exactly one window in flight.
        Assert.That(await stalls.Reader.ReadAsync().AsTask().WaitAsync(RealGrid.Guard), Is.EqualTo(window));
        for (var taken = 1; taken <= 10; taken++)
        {
            gate.Release();
            var sent = await stalls.Reader.ReadAsync().AsTask().WaitAsync(RealGrid.Guard);
            Assert.That(sent, Is.EqualTo(Volatile.Read(ref consumed) + window), $"after {taken} taken");
        }

        gate.Release(1000);
        await done.Task.WaitAsync(RealGrid.Guard);
        Assert.That(received, Is.EqualTo(Enumerable.Range(1, 40).Select(i => $"{i}")));
    }

    [Test]
    public async Task ServerOutCongestion_WindowOfOne_SingleRequestsStillFlow_ThenEveryMessageArrivesInOrder()
    {
        var producing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var grid = await RealGrid.StartAsync(2, node => node.RegisterStream(Flood, (_, _) =>
            Observable.Range(1, 100).Select(Number).Do(_ => producing.TrySetResult()),
            new StreamHandlerOptions { InCapacity = 0, OutCapacity = 1, PushBufferCapacity = 100 }));
        using var gate = new ManualResetEventSlim(false);
        var received = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = grid.From(0, 1).NewStream(Flood).Subscribe(
            m =>
            {
                gate.Wait(RealGrid.Guard);
                received.Add(Text(m));
            },
            e => done.TrySetException(e),
            () => done.TrySetResult());
        await producing.Task.WaitAsync(RealGrid.Guard);

        var singles = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => grid.From(0, 1).Request(Echo, Number(i)).ToTask())).WaitAsync(RealGrid.Guard);

        Assert.That(singles.Select(Text), Is.EqualTo(Enumerable.Range(0, 100).Select(i => $"{grid.Nodes[1].Address}:{i}")));
        Assert.That(received, Is.Empty, "the stream's consumer is still holding its first message");
        gate.Set();
        await done.Task.WaitAsync(RealGrid.Guard);
        Assert.That(received, Is.EqualTo(Enumerable.Range(1, 100).Select(i => $"{i}")));
    }

    [Test]
    public async Task ServerInCongestion_HandlerNotReadingYet_CallerStopsAtTheWindow_SingleRequestsStillFlow_ThenAllEchoedInOrder()
    {
        const int window = 5;
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var grid = await RealGrid.StartAsync(2, node => node.RegisterStream(EchoWhenOpened, async (stream, cancellationToken) =>
        {
            await open.Task;
            await foreach (var message in stream.ReadAllAsync(cancellationToken))
            {
                await stream.SendAsync(message, cancellationToken);
            }
        }, new StreamHandlerOptions { InCapacity = window, OutCapacity = window }));
        var stream = grid.From(0, 1).NewStream(EchoWhenOpened);
        var echoed = stream.Select(Text).ToList().ToTask();
        var stalled = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sending = Task.Run(async () =>
        {
            for (var i = 1; i <= 100; i++)
            {
                var send = stream.SendAsync(Number(i));
                if (!send.IsCompleted && i > 1)
                {
                    stalled.TrySetResult(i - 1); // the first send always waits for the accept's credit
                }

                await send;
            }

            stream.OnCompleted();
        });

        Assert.That(await stalled.Task.WaitAsync(RealGrid.Guard), Is.EqualTo(window), "nothing taken yet: one window in flight");
        var singles = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => grid.From(0, 1).Request(Echo, Number(i)).ToTask())).WaitAsync(RealGrid.Guard);
        Assert.That(singles, Has.Length.EqualTo(100));
        Assert.That(sending.IsCompleted, Is.False);

        open.SetResult();
        await sending.WaitAsync(RealGrid.Guard);
        Assert.That(await echoed.WaitAsync(RealGrid.Guard), Is.EqualTo(Enumerable.Range(1, 100).Select(i => $"{i}")));
    }

    [Test]
    public async Task ASlowConsumerOnOneStream_StallsNoOtherStream()
    {
        await using var grid = await RealGrid.StartAsync(2, node => node.RegisterStream(Flood, (_, _) =>
            Observable.Range(1, 100).Select(Number), new StreamHandlerOptions { InCapacity = 0, OutCapacity = 2, PushBufferCapacity = 100 }));
        using var gate = new ManualResetEventSlim(false);
        var firstArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slow = grid.From(0, 1).NewStream(Flood).Subscribe(_ =>
        {
            firstArrived.TrySetResult();
            gate.Wait(RealGrid.Guard);
        }, _ => { });
        await firstArrived.Task.WaitAsync(RealGrid.Guard);

        var others = await Task.WhenAll(Enumerable.Range(0, 5)
            .Select(_ => grid.From(0, 1).NewStream(Flood).Select(Text).ToList().ToTask())).WaitAsync(RealGrid.Guard);

        Assert.That(others, Has.All.EqualTo(Enumerable.Range(1, 100).Select(i => $"{i}").ToList()));
        gate.Set();
    }
}
