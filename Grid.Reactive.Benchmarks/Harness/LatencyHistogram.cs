using System.Diagnostics;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// An HDR-style log-linear histogram of latencies in nanoseconds: exact below 128 ns, then 64 sub-buckets per power of
/// two (under 1.6 % relative error) up to about 18 minutes. Recording is one array increment: no allocation per call.
/// Not thread-safe: one per worker, merged at the end.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 6;                       // 64 sub-buckets per power of two
    private const int SubBuckets = 1 << SubBucketBits;
    private const int ExactLimit = SubBuckets * 2;             // values below this get their own bucket
    private const int MaxExponent = 40;                        // 2^40 ns, about 18 minutes
    private const int BucketCount = ExactLimit + ((MaxExponent - SubBucketBits) * SubBuckets);

    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    private readonly long[] _counts = new long[BucketCount];

    /// <summary>Values recorded.</summary>
    public long Count { get; private set; }

    /// <summary>Records the time between two <see cref="Stopwatch.GetTimestamp"/> readings.</summary>
    public void RecordTicks(long startTimestamp, long endTimestamp) =>
        Record((long)((endTimestamp - startTimestamp) * NanosPerTick));

    /// <summary>Records one value in nanoseconds; values out of range are clamped.</summary>
    public void Record(long nanoseconds)
    {
        _counts[IndexOf(nanoseconds)]++;
        Count++;
    }

    /// <summary>Adds every value of <paramref name="other"/> to this histogram.</summary>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < BucketCount; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
    }

    /// <summary>Forgets every value.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        Count = 0;
    }

    /// <summary>The value at quantile <paramref name="q"/> (0 to 1), in nanoseconds (bucket midpoint); NaN when empty.</summary>
    public double ValueAtQuantile(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * Count));
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                var (low, high) = BoundsOf(i);
                return (low + high) / 2.0;
            }
        }

        return BoundsOf(BucketCount - 1).High;
    }

    /// <summary>The value at quantile <paramref name="q"/> in microseconds.</summary>
    public double MicrosAtQuantile(double q) => ValueAtQuantile(q) / 1000.0;

    internal static int IndexOf(long value)
    {
        if (value < ExactLimit)
        {
            return value < 0 ? 0 : (int)value;
        }

        var exponent = 63 - (int)long.LeadingZeroCount(value);         // >= 7
        if (exponent >= MaxExponent + 1)
        {
            return BucketCount - 1;
        }

        var shift = exponent - SubBucketBits;                          // >= 1
        var sub = (int)(value >> shift) - SubBuckets;                  // 0..63
        return ExactLimit + ((exponent - (SubBucketBits + 1)) * SubBuckets) + sub;
    }

    internal static (long Low, long High) BoundsOf(int index)
    {
        if (index < ExactLimit)
        {
            return (index, index);
        }

        var offset = index - ExactLimit;
        var exponent = (offset / SubBuckets) + SubBucketBits + 1;
        var sub = (offset % SubBuckets) + SubBuckets;
        var shift = exponent - SubBucketBits;
        var low = (long)sub << shift;
        return (low, low + (1L << shift) - 1);
    }
}
