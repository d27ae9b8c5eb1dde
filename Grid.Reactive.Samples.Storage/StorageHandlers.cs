// The storage handlers: classes resolved from DI in a scope per call. The disk calls are registered once per disk
// (subroute "disk-1".."disk-3") and see their disk through the call's RequestContext.
using System.Runtime.CompilerServices;
using Grid.Reactive;

namespace Grid.Reactive.Samples.Storage;

/// <summary>A handler of a call on one disk: the disk is the call's subroute.</summary>
internal interface IDiskHandler<in TRequest, TResponse>
{
    ValueTask<TResponse> HandleAsync(TRequest request, RequestContext context);
}

internal sealed class DiskInfoHandler(Disks disks) : IDiskHandler<DiskInfoRequest, DiskInfo>
{
    public ValueTask<DiskInfo> HandleAsync(DiskInfoRequest request, RequestContext context)
    {
        var files = new DirectoryInfo(disks.Root(context.Subroute)).GetFiles("*", SearchOption.AllDirectories);
        return ValueTask.FromResult(new DiskInfo(disks.Node, context.Subroute!, files.Length, files.Sum(f => f.Length)));
    }
}

/// <summary>The no-op DiskInfo: registered with the plain <c>AddGridHandler</c>, no disk, no I/O.</summary>
internal sealed class DiskInfoNoOpHandler(Disks disks) : IGridRequestHandler<DiskInfoRequest, DiskInfo>
{
    public ValueTask<DiskInfo> HandleAsync(DiskInfoRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new DiskInfo(disks.Node, "-", 0, 0));
}

internal sealed class ReadAllHandler(Disks disks) : IDiskHandler<ReadAllRequest, byte[]>
{
    public async ValueTask<byte[]> HandleAsync(ReadAllRequest request, RequestContext context) =>
        await File.ReadAllBytesAsync(disks.Resolve(context.Subroute, request.Path), context.CancellationToken);
}

internal sealed class RenameFileHandler(Disks disks) : IDiskHandler<RenameRequest, bool>
{
    public ValueTask<bool> HandleAsync(RenameRequest request, RequestContext context)
    {
        File.Move(disks.Resolve(context.Subroute, request.From), disks.Resolve(context.Subroute, request.To));
        return ValueTask.FromResult(true);
    }
}

internal sealed class WalkDirHandler(Disks disks)
{
    public async Task HandleAsync(TypedServerStream<WalkRequest, string, string> stream, CancellationToken cancellationToken)
    {
        var root = disks.Root(stream.Context.Subroute);
        await foreach (var file in Walk(disks.Resolve(stream.Context.Subroute, stream.Payload.Directory), cancellationToken))
        {
            await stream.SendAsync(Path.GetRelativePath(root, file), cancellationToken);
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
