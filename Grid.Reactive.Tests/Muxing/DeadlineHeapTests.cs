using Grid.Reactive.Muxing;

namespace Grid.Reactive.Tests.Muxing;

public sealed class DeadlineHeapTests
{
    private sealed class Call : TimedCall
    {
        public override void OnDeadline() { }
    }

    [Test]
    public void TakesCallsInDueOrder_WhateverOrderTheyCameIn_AndRemovalKeepsTheOrder()
    {
        var heap = new DeadlineHeap();
        var random = new Random(3);
        var calls = Enumerable.Range(0, 2_000).Select(_ => (Call: new Call(), Due: (long)random.Next(1_000_000))).ToList();
        foreach (var (call, due) in calls)
        {
            heap.Add(call, due);
        }

        var removed = calls.Where((_, i) => i % 3 == 0).ToList();
        foreach (var (call, _) in removed)
        {
            heap.Remove(call);
        }

        var taken = new List<long>();
        while (heap.TryTakeDue(long.MaxValue, out var next))
        {
            taken.Add(next.DueTicks);
            Assert.That(next.HeapIndex, Is.EqualTo(-1));
        }

        Assert.That(taken, Is.EqualTo(calls.Except(removed).Select(c => c.Due).Order()));
        Assert.That(heap.Count, Is.Zero);
    }

    [Test]
    public void HoldsOnlyThePendingCalls_EvenAfter100000DistinctTimeouts()
    {
        var heap = new DeadlineHeap();
        for (var i = 0; i < 100_000; i++)
        {
            var call = new Call();
            heap.Add(call, DeadlineHeap.DueAt(0, TimeSpan.FromTicks(i + 1)));
            heap.Remove(call);
        }

        Assert.That(heap.Count, Is.Zero);
        Assert.That(heap.NextDueTicks, Is.EqualTo(long.MaxValue));
    }

    [Test]
    public void DueAt_Saturates_SoHugeTimeoutsMeanNever_AndNegativeMeansNow()
    {
        Assert.That(DeadlineHeap.DueAt(DateTimeOffset.UtcNow.UtcTicks, TimeSpan.MaxValue), Is.EqualTo(long.MaxValue));
        Assert.That(DeadlineHeap.DueAt(long.MaxValue - 5, TimeSpan.FromTicks(10)), Is.EqualTo(long.MaxValue));
        Assert.That(DeadlineHeap.DueAt(100, TimeSpan.FromTicks(-7)), Is.EqualTo(100));

        var heap = new DeadlineHeap();
        heap.Add(new Call(), long.MaxValue);
        Assert.That(heap.TryTakeDue(DateTimeOffset.MaxValue.UtcTicks, out _), Is.False, "never is never due");
    }
}
