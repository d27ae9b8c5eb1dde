namespace Grid.Reactive.Diagnostics.Logging;

/// <summary>
/// Tells the first occurrence of a condition (a key such as "peer + refusal code") from its repeats, so a peer that
/// redials with the same fault is logged once at Warning and then at Debug. Bounded: past <see cref="Capacity"/>
/// distinct keys it forgets them all (strangers can claim any name), so at worst a repeat is told again.
/// </summary>
internal sealed class RepeatFilter
{
    /// <summary>Most distinct keys remembered.</summary>
    public const int Capacity = 1024;

    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>True the first time <paramref name="key"/> is seen (since it was last forgotten).</summary>
    public bool IsFirst(string key)
    {
        lock (_gate)
        {
            if (_seen.Count >= Capacity)
            {
                _seen.Clear();
            }

            return _seen.Add(key);
        }
    }

    /// <summary>Forgets every key that starts with <paramref name="prefix"/>, so the next occurrence is told again.</summary>
    public void Forget(string prefix)
    {
        lock (_gate)
        {
            _seen.RemoveWhere(k => k.StartsWith(prefix, StringComparison.Ordinal));
        }
    }
}
