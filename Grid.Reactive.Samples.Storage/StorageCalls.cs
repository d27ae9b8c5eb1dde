// The storage service's calls: one typed descriptor per call, the disk chosen per call by its subroute
// ("disk-1".."disk-3"), so three disks do not need three descriptors each.
using Grid.Reactive;
using MessagePack;

namespace Grid.Reactive.Samples.Storage;

/// <summary>The storage grid's calls, as typed descriptors shared by callers and handlers.</summary>
internal static class StorageCalls
{
    public static readonly TypedRequest<DiskInfoRequest, DiskInfo> DiskInfo = new(new HandlerId(100));

    /// <summary>The cheap variant: answers from the node without touching a disk (a liveness probe).</summary>
    public static readonly TypedRequest<DiskInfoRequest, DiskInfo> DiskInfoNoOp = new(new HandlerId(101));

    public static readonly TypedRequest<ReadAllRequest, byte[]> ReadAll = new(new HandlerId(102));

    public static readonly TypedRequest<RenameRequest, bool> RenameFile = new(new HandlerId(103));

    /// <summary>Server push only (no messages in): every file under a directory, paced by the caller's credit.</summary>
    public static readonly TypedStream<WalkRequest, string, string> WalkDir =
        new(new HandlerId(104), new StreamHandlerOptions { InCapacity = 0 });

    public static readonly string[] Disks = ["disk-1", "disk-2", "disk-3"];
}

[MessagePackObject]
public sealed record DiskInfoRequest([property: Key(0)] bool Metrics);

[MessagePackObject]
public sealed record DiskInfo(
    [property: Key(0)] string Node,
    [property: Key(1)] string Disk,
    [property: Key(2)] int Files,
    [property: Key(3)] long UsedBytes);

[MessagePackObject]
public sealed record ReadAllRequest([property: Key(0)] string Path);

[MessagePackObject]
public sealed record RenameRequest([property: Key(0)] string From, [property: Key(1)] string To);

[MessagePackObject]
public sealed record WalkRequest([property: Key(0)] string Directory);
