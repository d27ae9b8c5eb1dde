using System.Runtime.CompilerServices;
using Grid.Reactive.Connections;
using Grid.Reactive.Muxing.Streams;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Reactive.Testing;

namespace Grid.Reactive.Tests.Streams;

/// <summary>The sending half of a stream on its own, in virtual time: what it holds while it waits for credit.</summary>
public sealed class CreditWindowTests
{
    private sealed class Output : IStreamOutput
    {
        public List<(uint Seq, byte Tag)> Sent { get; } = [];

        public void SendMessage(uint seq, byte[] payload) => Sent.Add((seq, payload[0]));

        public void SendEnd(uint sent, Exception? error)
        {
        }
    }

    private static CreditWindow NewWindow(TestScheduler scheduler) => new(pushLimit: 8, maxMessageBytes: 1 << 20, new UserCode(new Dispatcher(scheduler), NullLogger.Instance));

    /// <summary>Starts a wait for credit with a fresh 64 KiB payload and cancels it; only a weak reference to the payload is kept.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (ValueTask Wait, WeakReference Payload) CancelledSend(CreditWindow window, byte tag)
    {
        var payload = new byte[64 * 1024];
        payload[0] = tag;
        using var giveUp = new CancellationTokenSource();
        var wait = window.SendAsync(payload, giveUp.Token);
        giveUp.Cancel();
        return (wait, new WeakReference(payload));
    }

    [Test]
    public void CancelledSends_LeaveTheQueueAtOnce_ReleasingTheirPayloads_AndLaterSendsGoOutInOrder()
    {
        var scheduler = new TestScheduler();
        var window = NewWindow(scheduler);
        var output = new Output();
        window.Attach(output, credit: 0, peerMaxMessageBytes: int.MaxValue);

        var cancelled = Enumerable.Range(0, 2_000).Select(_ => CancelledSend(window, tag: 0xFF)).ToList();
        scheduler.Start();
        Assert.That(cancelled.All(c => c.Wait.IsCanceled), Is.True, "every cancelled wait ends cancelled at once");

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(cancelled.Count(c => c.Payload.IsAlive), Is.Zero, "no cancelled payload is held while the window waits for credit");

        var first = window.SendAsync([1], CancellationToken.None);
        Assert.That(window.Push([2]), Is.EqualTo(CreditWindow.PushResult.Queued));
        var third = window.SendAsync([3], CancellationToken.None);
        window.Grant(3);
        scheduler.Start();

        Assert.That(output.Sent, Is.EqualTo(new (uint, byte)[] { (1, 1), (2, 2), (3, 3) }), "only the later messages, numbered from 1, in order");
        Assert.That(first.IsCompletedSuccessfully && third.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void ACancelledSend_BetweenOthers_IsSkipped_AndTheOthersKeepTheirOrder()
    {
        var scheduler = new TestScheduler();
        var window = NewWindow(scheduler);
        var output = new Output();
        window.Attach(output, credit: 0, peerMaxMessageBytes: int.MaxValue);

        var first = window.SendAsync([1], CancellationToken.None);
        Assert.That(window.Push([2]), Is.EqualTo(CreditWindow.PushResult.Queued));
        var (middle, _) = CancelledSend(window, tag: 0xFF);
        var last = window.SendAsync([4], CancellationToken.None);
        window.Grant(1);
        scheduler.Start();
        Assert.That(output.Sent, Is.EqualTo(new (uint, byte)[] { (1, 1) }));

        window.Grant(10);
        scheduler.Start();

        Assert.That(output.Sent, Is.EqualTo(new (uint, byte)[] { (1, 1), (2, 2), (3, 4) }));
        Assert.That(first.IsCompletedSuccessfully && last.IsCompletedSuccessfully && middle.IsCanceled, Is.True);
    }
}
