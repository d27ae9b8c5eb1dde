using System.Reactive.Concurrency;
using System.Reflection;

namespace Grid.Reactive.Benchmarks.Scale;

/// <summary>
/// Counts the work items a virtual-time scheduler holds, by reflection (Rx keeps its queue private): all of them, and
/// those not cancelled. A cancelled item stays queued until its time comes, on a virtual-time scheduler only (a real
/// timer is released when disposed), so the live count is the one a node really holds.
/// </summary>
internal static class SchedulerProbe
{
    /// <summary>The items queued and the live ones among them; (-1, -1) when this version of Rx hides them.</summary>
    public static (int Queued, int Live) Count(object scheduler)
    {
        var queue = FindField(scheduler, "_queue") ?? FindField(scheduler, "queue");
        if (queue is null)
        {
            return (-1, -1);
        }

        var inner = FindField(queue, "_queue") ?? FindField(queue, "queue");
        var items = inner is null ? null : FindField(inner, "_items") ?? FindField(inner, "items");
        var size = inner is null ? null : FindField(inner, "_size") ?? FindField(inner, "size");
        if (items is not Array array || size is not int count)
        {
            return (-1, -1);
        }

        var live = 0;
        for (var i = 0; i < count; i++)
        {
            var indexed = array.GetValue(i);
            var value = indexed is null ? null : FindField(indexed, "Value");
            if (value is ScheduledItem<long> { IsCanceled: false } or ScheduledItem<DateTimeOffset> { IsCanceled: false })
            {
                live++;
            }
        }

        return (count, live);
    }

    private static object? FindField(object target, string name)
    {
        for (var type = target.GetType(); type is not null; type = type.BaseType)
        {
            var field = type.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
            if (field is not null)
            {
                return field.GetValue(target);
            }
        }

        return null;
    }
}
