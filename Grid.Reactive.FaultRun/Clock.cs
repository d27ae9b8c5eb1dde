namespace Grid.Reactive.FaultRun;

/// <summary>
/// Wall-clock milliseconds: the harness lines its books up with the fault log the script writes with `date +%s%3N`
/// on the same machine. (The library itself never reads the wall clock on a timing path; this is the harness.)
/// </summary>
internal static class Clock
{
    public static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
