namespace Grid.Reactive.Muxing;

/// <summary>
/// The deadlines of a session's calls: a binary min-heap by due time, so its size is the number of calls pending, and
/// adding or removing one is O(log n) without allocation (each call knows its slot). Owned by the session's loop:
/// not thread-safe, and never calls user code.
/// </summary>
/// <remarks>
/// Time arithmetic saturates: a deadline beyond the clock's range (<see cref="TimeSpan.MaxValue"/>, or 50 days on a
/// scheduler whose timers stop at 49.7) is due at <see cref="long.MaxValue"/>, which never passes.
/// </remarks>
internal sealed class DeadlineHeap
{
    private TimedCall[] _items = new TimedCall[16];

    public int Count { get; private set; }

    /// <summary>The earliest due time, or <see cref="long.MaxValue"/> when empty.</summary>
    public long NextDueTicks => Count == 0 ? long.MaxValue : _items[0].DueTicks;

    /// <summary><paramref name="now"/> plus <paramref name="timeout"/>, saturating at <see cref="long.MaxValue"/> (never).</summary>
    public static long DueAt(long now, TimeSpan timeout)
    {
        var ticks = Math.Max(0, timeout.Ticks);
        return now > long.MaxValue - ticks ? long.MaxValue : now + ticks;
    }

    public void Add(TimedCall call, long dueTicks)
    {
        if (call.HeapIndex >= 0)
        {
            Remove(call);
        }

        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        call.DueTicks = dueTicks;
        _items[Count] = call;
        call.HeapIndex = Count;
        Count++;
        Up(call.HeapIndex);
    }

    /// <summary>Takes a call out; nothing happens when it is in no heap.</summary>
    public void Remove(TimedCall call)
    {
        var index = call.HeapIndex;
        if (index < 0 || index >= Count || !ReferenceEquals(_items[index], call))
        {
            return;
        }

        call.HeapIndex = -1;
        Count--;
        if (index != Count)
        {
            var last = _items[Count];
            _items[index] = last;
            last.HeapIndex = index;
            if (!Up(index))
            {
                Down(index);
            }
        }

        _items[Count] = null!;
        ShrinkIfSparse();
    }

    /// <summary>Takes out the earliest call if it is due by <paramref name="now"/>.</summary>
    public bool TryTakeDue(long now, out TimedCall call)
    {
        if (Count == 0 || _items[0].DueTicks > now)
        {
            call = null!;
            return false;
        }

        call = _items[0];
        Remove(call);
        return true;
    }

    /// <summary>Empties the heap, returning its calls (for the session's end).</summary>
    public TimedCall[] Drain()
    {
        var all = _items.AsSpan(0, Count).ToArray();
        foreach (var call in all)
        {
            call.HeapIndex = -1;
        }

        _items = new TimedCall[16];
        Count = 0;
        return all;
    }

    private bool Up(int index)
    {
        var moved = false;
        var call = _items[index];
        while (index > 0)
        {
            var parent = (index - 1) / 2;
            if (_items[parent].DueTicks <= call.DueTicks)
            {
                break;
            }

            _items[index] = _items[parent];
            _items[index].HeapIndex = index;
            index = parent;
            moved = true;
        }

        _items[index] = call;
        call.HeapIndex = index;
        return moved;
    }

    private void Down(int index)
    {
        var call = _items[index];
        while (true)
        {
            var child = (2 * index) + 1;
            if (child >= Count)
            {
                break;
            }

            if (child + 1 < Count && _items[child + 1].DueTicks < _items[child].DueTicks)
            {
                child++;
            }

            if (_items[child].DueTicks >= call.DueTicks)
            {
                break;
            }

            _items[index] = _items[child];
            _items[index].HeapIndex = index;
            index = child;
        }

        _items[index] = call;
        call.HeapIndex = index;
    }

    // A burst of calls must not pin its peak size for the session's life.
    private void ShrinkIfSparse()
    {
        if (_items.Length > 1024 && Count < _items.Length / 4)
        {
            Array.Resize(ref _items, _items.Length / 2);
        }
    }
}
