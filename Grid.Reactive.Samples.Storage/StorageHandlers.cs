// The storage handlers: classes resolved from DI in a scope per call. Each disk call's class is registered once for
// every disk (subroutes "disk-1".."disk-3": AddGridHandler<DiskInfoHandler, ...>(StorageCalls.DiskInfo, StorageCalls.Disks))
// and sees its disk as the call's RequestContext.Subroute.
using System.Runtime.CompilerServices;
using Grid.Reactive;

namespace Grid.Reactive.Samples.Storage;

internal sealed class DiskInfoHandler(Disks disks) : IGridRequestHandler<DiskInfoRequest, DiskInfo>
{
    public ValueTask<DiskInfo> HandleAsync(DiskInfoRequest request, RequestContext context)
    {
        var files = new DirectoryInfo(disks.Root(context.Subroute)).GetFiles("*", SearchOption.AllDirectories);
        return ValueTask.FromResult(new DiskInfo(disks.Node, context.Subroute!, files.Length, files.Sum(f => f.Length)));
    }
}

/// <summary>The no-op DiskInfo: registered without subroutes, no disk, no I/O.</summary>
internal sealed class DiskInfoNoOpHandler(Disks disks) : IGridRequestHandler<DiskInfoRequest, DiskInfo>
{
    public ValueTask<DiskInfo> HandleAsync(DiskInfoRequest request, RequestContext context) =>
        ValueTask.FromResult(new DiskInfo(disks.Node, "-", 0, 0));
}

internal sealed class ReadAllHandler(Disks disks) : IGridRequestHandler<ReadAllRequest, byte[]>
{
    public async ValueTask<byte[]> HandleAsync(ReadAllRequest request, RequestContext context) =>
        await File.ReadAllBytesAsync(disks.Resolve(context.Subroute, request.Path), context.CancellationToken);
}

internal sealed class RenameFileHandler(Disks disks) : IGridRequestHandler<RenameRequest, bool>
{
    public ValueTask<bool> HandleAsync(RenameRequest request, RequestContext context)
    {
        File.Move(disks.Resolve(context.Subroute, request.From), disks.Resolve(context.Subroute, request.To));
        return ValueTask.FromResult(true);
    }
}

internal sealed class WalkDirHandler(Disks disks) : IGridStreamHandler<WalkRequest, string, string>
{
    public async Task HandleAsync(TypedServerStream<WalkRequest, string, string> stream, RequestContext context)
    {
        var root = disks.Root(context.Subroute);
        await foreach (var file in Walk(disks.Resolve(context.Subroute, stream.Payload.Directory), context.CancellationToken))
        {
            await stream.SendAsync(Path.GetRelativePath(root, file), context.CancellationToken);
        }
    }

    private static async IAsyncEnumerable<string> Walk(string directory, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return file;
            await Task.Yield();
        }
    }
}
