using Grid.Reactive;

namespace Grid.Reactive.Samples.Storage;

/// <summary>
/// Registers the disk handlers once per disk on the node's <see cref="Manager"/> (the DI singleton): the disk is the
/// registration's subroute, and each call resolves its handler class in a new DI scope.
/// </summary>
internal static class DiskHandlerRegistration
{
    public static IServiceCollection AddDiskHandlers(this IServiceCollection services)
    {
        services.AddScoped<DiskInfoHandler>();
        services.AddScoped<ReadAllHandler>();
        services.AddScoped<RenameFileHandler>();
        services.AddScoped<WalkDirHandler>();
        return services;
    }

    public static void MapDiskHandlers(this IServiceProvider services)
    {
        var manager = services.GetRequiredService<Manager>();
        var scopes = services.GetRequiredService<IServiceScopeFactory>();
        foreach (var disk in StorageCalls.Disks)
        {
            Map<DiskInfoHandler, DiskInfoRequest, DiskInfo>(StorageCalls.DiskInfo, disk);
            Map<ReadAllHandler, ReadAllRequest, byte[]>(StorageCalls.ReadAll, disk);
            Map<RenameFileHandler, RenameRequest, bool>(StorageCalls.RenameFile, disk);
            StorageCalls.WalkDir.Register(manager, async (stream, cancellationToken) =>
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<WalkDirHandler>().HandleAsync(stream, cancellationToken);
            }, disk);
        }

        void Map<THandler, TRequest, TResponse>(TypedRequest<TRequest, TResponse> call, string disk)
            where THandler : IDiskHandler<TRequest, TResponse>
        {
            call.Register(manager, async (TRequest request, RequestContext context) =>
            {
                await using var scope = scopes.CreateAsyncScope();
                return await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(request, context);
            }, disk);
        }
    }
}
