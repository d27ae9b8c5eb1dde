using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Grid.Reactive.Benchmarks.Harness;

/// <summary>
/// What the whole process has used so far: CPU time split into user and kernel time, and context switches. Read
/// before and after a measured window, the difference per operation is a cost that holds when other work shares the
/// machine (unlike a rate): kernel time is mostly socket system calls and the loopback TCP stack, user time the
/// systems' own code and the runtime's, and a context switch is a thread that blocked (or was preempted) and woke.
/// </summary>
/// <param name="User">CPU time in user mode, all threads.</param>
/// <param name="Kernel">CPU time in the kernel on the process's behalf, all threads.</param>
/// <param name="ContextSwitches">Voluntary and involuntary context switches of all threads; -1 where unknown (not Linux).</param>
public readonly partial record struct ProcessUsage(TimeSpan User, TimeSpan Kernel, long ContextSwitches)
{
    /// <summary>User plus kernel time.</summary>
    public TimeSpan Cpu => User + Kernel;

    /// <summary>The usage now: <c>getrusage(RUSAGE_SELF)</c> on Linux, <see cref="Process"/>'s times elsewhere.</summary>
    public static ProcessUsage Now()
    {
        if (OperatingSystem.IsLinux() && NativeMethods.GetRUsage(0, out var usage) == 0)
        {
            return new ProcessUsage(Time(usage.UserSeconds, usage.UserMicroseconds), Time(usage.KernelSeconds, usage.KernelMicroseconds),
                usage.VoluntarySwitches + usage.InvoluntarySwitches);
        }

        using var process = Process.GetCurrentProcess();
        return new ProcessUsage(process.UserProcessorTime, process.PrivilegedProcessorTime, -1);
    }

    /// <summary>What was used between <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static ProcessUsage Between(ProcessUsage before, ProcessUsage after) =>
        new(after.User - before.User, after.Kernel - before.Kernel,
            before.ContextSwitches < 0 || after.ContextSwitches < 0 ? -1 : after.ContextSwitches - before.ContextSwitches);

    /// <summary>The sum of two windows' usage.</summary>
    public static ProcessUsage Add(ProcessUsage a, ProcessUsage b) =>
        new(a.User + b.User, a.Kernel + b.Kernel, a.ContextSwitches < 0 || b.ContextSwitches < 0 ? -1 : a.ContextSwitches + b.ContextSwitches);

    private static TimeSpan Time(long seconds, long microseconds) => TimeSpan.FromTicks((seconds * TimeSpan.TicksPerSecond) + (microseconds * 10));

    private static partial class NativeMethods
    {
        // struct rusage on 64-bit Linux: two timevals, then fourteen longs, of which the last two are the switch counts.
        [StructLayout(LayoutKind.Sequential)]
        internal struct RUsage
        {
            public long UserSeconds;
            public long UserMicroseconds;
            public long KernelSeconds;
            public long KernelMicroseconds;
            public long MaxRss;
            public long SharedMemory;
            public long UnsharedData;
            public long UnsharedStack;
            public long MinorFaults;
            public long MajorFaults;
            public long Swaps;
            public long BlockIn;
            public long BlockOut;
            public long MessagesSent;
            public long MessagesReceived;
            public long Signals;
            public long VoluntarySwitches;
            public long InvoluntarySwitches;
        }

        [LibraryImport("libc", EntryPoint = "getrusage")]
        internal static partial int GetRUsage(int who, out RUsage usage);
    }
}
