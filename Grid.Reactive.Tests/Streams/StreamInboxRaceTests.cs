using System.Reactive.Concurrency;
using Grid.Reactive.Connections;
using Grid.Reactive.Muxing.Streams;
using Microsoft.Extensions.Logging.Abstractions;
using Grid.Reactive.Tests.Support;

namespace Grid.Reactive.Tests.Streams;

/// <summary>
/// An abort (the connection lost, a protocol violation) racing the consumer on real thread-pool threads: a stream that
/// failed must end with its error, never complete as if nothing were missing. Each iteration lines the abort up just
/// behind the consumer's last message: the consumer holds that message a moment after signalling it, and the abort
/// follows the signal after a delay that shifts from one iteration to the next, so the iterations sweep the moment the
/// consumer picks its ending.
/// </summary>
public sealed class StreamInboxRaceTests
{
    private const int PushIterations = 100_000;
    private const int PullIterations = 15_000;

    /// <summary>
    /// Bounds a run on a loaded machine (fewer iterations then, each slower); never an assertion. On an idle two-core
    /// machine every iteration runs well inside it, and the old inbox failed every run.
    /// </summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(4);
    private static readonly byte[] Message = [1];
    private static int _sink = 1;

    private static StreamInbox NewInbox(Action<Exception> consumerFailed) =>
        new(new UserCode(new Dispatcher(DefaultScheduler.Instance), NullLogger.Instance), window: 4, grant: _ => { }, consumerFailed);

    /// <summary>How long the consumer holds its last message, then how long the abort waits after the signal.</summary>
    private static (int Hold, int Shift) Alignment(int iteration) => (iteration / 64 % 8 * 16, iteration % 64);

    /// <summary>
    /// Waits for the consumer's signal without yielding the core for up to a millisecond or so (SpinWait.SpinUntil soon yields
    /// and sleeps, and would then react far too late to race anything); a consumer that is not running by then is waited
    /// for politely, so a loaded machine is not made slower still. <see cref="RealGrid.Guard"/> only turns a hang into a
    /// failure.
    /// </summary>
    private static bool HotSpinUntil(Func<bool> condition)
    {
        for (var spins = 0; spins < 1_000_000; spins++)
        {
            if (condition())
            {
                return true;
            }
        }

        return SpinWait.SpinUntil(condition, RealGrid.Guard);
    }

    private static void Spin(int count)
    {
        for (var s = count; s > 0; s--)
        {
            Volatile.Read(ref _sink);
        }
    }

    private sealed class Recorder(int hold) : IObserver<byte[]>
    {
        private volatile bool _delivered;

        public bool Delivered => _delivered;

        public TaskCompletionSource<Exception?> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnNext(byte[] value)
        {
            _delivered = true;
            Spin(hold);
        }

        public void OnError(Exception error) => Ended.TrySetResult(error);

        public void OnCompleted() => Ended.TrySetResult(null);
    }

    [Test]
    public void Push_AnAbortRacingTheDrain_AlwaysEndsWithTheError()
    {
        var completed = 0;
        var failure = new InvalidOperationException("lost");
        var budget = System.Diagnostics.Stopwatch.StartNew();
        var i = 0;
        for (; i < PushIterations && budget.Elapsed < Budget; i++)
        {
            var (hold, shift) = Alignment(i);
            var recorder = new Recorder(hold);
            var inbox = NewInbox(e => recorder.Ended.TrySetException(e));
            inbox.Subscribe(recorder);
            Assert.That(inbox.Accept(1, Message), Is.Null);
            Assert.That(HotSpinUntil(() => recorder.Delivered), Is.True, "the message was delivered");
            Spin(shift);
            inbox.Abort(failure);

            Assert.That(SpinWait.SpinUntil(() => recorder.Ended.Task.IsCompleted, RealGrid.Guard), Is.True, "the stream ended");
            var ending = recorder.Ended.Task.Result;
            if (ending is null)
            {
                completed++;
            }
            else
            {
                Assert.That(ending, Is.SameAs(failure));
            }
        }

        Assert.That(completed, Is.Zero, $"of {i} aborted streams, {completed} completed normally");
    }

    [Test]
    public async Task Pull_AnAbortRacingTheReader_AlwaysThrowsTheError()
    {
        var ended = 0;
        var failure = new InvalidOperationException("lost");
        var budget = System.Diagnostics.Stopwatch.StartNew();
        var i = 0;
        for (; i < PullIterations && budget.Elapsed < Budget; i++)
        {
            var (hold, shift) = Alignment(i);
            var inbox = NewInbox(_ => { });
            Assert.That(inbox.Accept(1, Message), Is.Null);
            var read = 0;
            var reader = Task.Run(async () =>
            {
                await foreach (var _ in inbox.ReadAllAsync())
                {
                    Volatile.Write(ref read, 1);
                    Spin(hold);
                }
            });
            Assert.That(HotSpinUntil(() => Volatile.Read(ref read) == 1), Is.True, "the message was read");
            Spin(shift);
            inbox.Abort(failure);

            Assert.That(SpinWait.SpinUntil(() => reader.IsCompleted, RealGrid.Guard), Is.True, "the read ended");
            try
            {
                await reader;
                ended++;
            }
            catch (InvalidOperationException error)
            {
                Assert.That(error, Is.SameAs(failure));
            }
        }

        Assert.That(ended, Is.Zero, $"of {i} aborted reads, {ended} ended normally");
    }
}
