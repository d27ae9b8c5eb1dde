using Grid.Reactive.Transport;
using NUnit.Framework;

namespace Grid.Reactive.Tests.Transport;

public sealed class FlushGateTests
{
    [Test]
    public void A_request_during_a_pass_makes_that_pass_go_round_once_more_instead_of_starting_another()
    {
        var gate = new FlushGate();

        Assert.That(gate.TryBegin(), Is.True, "idle: the caller starts a pass");
        Assert.That(gate.TryBegin(), Is.False, "running: marked to go round again");
        Assert.That(gate.TryBegin(), Is.False, "already marked");
        Assert.That(gate.TryEnd(), Is.False, "a request came during the pass: ask the handler again");
        Assert.That(gate.TryEnd(), Is.True, "nothing came meanwhile: the pass ends");
        Assert.That(gate.TryBegin(), Is.True, "idle again");
    }

    [Test]
    public void Concurrent_requests_never_start_two_passes_and_never_lose_one()
    {
        var gate = new FlushGate();
        var requested = 0L;
        var served = 0L;
        var passesRunning = 0;
        var overlaps = 0;

        void RunPass()
        {
            if (Interlocked.Increment(ref passesRunning) != 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            while (true)
            {
                Volatile.Write(ref served, Volatile.Read(ref requested));

                // Still holding the gate here: no other pass can start until TryEnd says the gate is idle.
                Interlocked.Decrement(ref passesRunning);
                if (gate.TryEnd())
                {
                    return;
                }

                if (Interlocked.Increment(ref passesRunning) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }
            }
        }

        Parallel.For(0, 200_000, _ =>
        {
            Interlocked.Increment(ref requested);
            if (gate.TryBegin())
            {
                RunPass();
            }
        });

        Assert.That(overlaps, Is.Zero);
        Assert.That(Volatile.Read(ref served), Is.EqualTo(200_000), "the last request was seen by a pass");
    }
}
