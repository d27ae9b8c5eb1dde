using System.Reactive;
using System.Reactive.Concurrency;
using Grid.Reactive.Connections;
using Grid.Reactive.Muxing.Streams;

namespace Grid.Reactive.Benchmarks.GridSystem;

/// <summary>
/// Guards the run against a stream defect that would kill the process: a push consumer's delivery pass
/// (<c>StreamInbox.Execute</c>) runs on the thread pool, where an exception is unhandled and ends the process.
/// This drives one inbox inline (immediate scheduler) with one message and reports what it throws. Remove it once the
/// library's stream tests cover push consumers end to end.
/// </summary>
public static class GridStreamProbe
{
    private static readonly Lazy<string?> Result = new(Run);

    /// <summary>Why grid streams cannot run in this process, or null when a push delivery works.</summary>
    public static string? Failure => Result.Value;

    private static string? Run()
    {
        try
        {
            var inbox = new StreamInbox(new Dispatcher(ImmediateScheduler.Instance), window: 4, grant: static _ => { }, consumerFailed: static _ => { });
            if (inbox.Accept(1, [1]) is { } violation)
            {
                return $"the stream inbox refused its first message: {violation}";
            }

            var received = 0;
            using (inbox.Subscribe(Observer.Create<byte[]>(_ => received++)))
            {
                return received == 1 ? null : "the stream inbox did not deliver its message";
            }
        }
        catch (Exception ex)
        {
            return $"delivering a stream message to an observer (StreamInbox.Execute) throws {ex.GetType().Name} ({ex.Message}) in {ex.TargetSite?.DeclaringType?.Name}.{ex.TargetSite?.Name}, which on the thread pool ends the process";
        }
    }
}
