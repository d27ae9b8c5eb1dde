using Grid.Reactive;
using Grid.Reactive.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds a grid node to an application's services.</summary>
public static class GridServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grid node configured by <paramref name="configuration"/> (usually <c>configuration.GetSection("Grid")</c>,
    /// bound to <see cref="GridOptions"/>): the <see cref="Manager"/> as a singleton, its transport, and a hosted service
    /// that starts it with the host and drains it before Kestrel stops. The options are checked when the host starts;
    /// the error names each bad key. Serve the grid with <c>app.MapGrid()</c> unless <see cref="GridOptions.SelfHost"/>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The grid's configuration section.</param>
    /// <param name="configure">Optional changes after binding (an authenticator, a transport, anything code-only).</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddGrid(this IServiceCollection services, IConfiguration configuration, Action<GridOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = services.AddOptions<GridOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddCore(services, (configuration as IConfigurationSection)?.Path ?? string.Empty);
    }

    /// <summary>
    /// Adds the grid node configured in code: as <see cref="AddGrid(IServiceCollection, IConfiguration, Action{GridOptions}?)"/>,
    /// with the options set by <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddGrid(this IServiceCollection services, Action<GridOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<GridOptions>().Configure(configure);
        return AddCore(services, null);
    }

    /// <summary>
    /// Serves single requests for <paramref name="handler"/> (and <paramref name="subroute"/>) with
    /// <typeparamref name="THandler"/>, resolved in a new dependency-injection scope for each call (registered as
    /// scoped unless it is registered already).
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddGridHandler<THandler>(this IServiceCollection services, HandlerId handler, string? subroute = null)
        where THandler : class, IGridHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddScoped<THandler>();
        services.AddSingleton(new GridHandlerRegistration((manager, provider) =>
        {
            var scopes = provider.GetRequiredService<IServiceScopeFactory>();
            return manager.Register(handler, async (payload, cancellationToken) =>
            {
                var scope = scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    return await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(payload, cancellationToken).ConfigureAwait(false);
                }
            }, subroute);
        }));
        return services;
    }

    /// <summary>
    /// Serves <paramref name="descriptor"/>'s typed requests with <typeparamref name="THandler"/>, resolved in a new
    /// dependency-injection scope for each call (registered as scoped unless it is registered already).
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="descriptor">The typed handler: its id, subroute and serializer.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddGridHandler<THandler, TRequest, TResponse>(this IServiceCollection services, TypedRequest<TRequest, TResponse> descriptor)
        where THandler : class, IGridRequestHandler<TRequest, TResponse>
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(descriptor);
        services.TryAddScoped<THandler>();
        services.AddSingleton(new GridHandlerRegistration((manager, provider) =>
        {
            var scopes = provider.GetRequiredService<IServiceScopeFactory>();
            return descriptor.Register(manager, async (request, cancellationToken) =>
            {
                var scope = scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    return await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(request, cancellationToken).ConfigureAwait(false);
                }
            });
        }));
        return services;
    }

    /// <summary>
    /// Serves streams for <paramref name="handler"/> (and <paramref name="subroute"/>) with <typeparamref name="THandler"/>,
    /// resolved in a new dependency-injection scope for each stream.
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="options">The stream windows; defaults when null.</param>
    /// <param name="subroute">An optional static subroute.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddGridStreamHandler<THandler>(this IServiceCollection services, HandlerId handler,
        StreamHandlerOptions? options = null, string? subroute = null)
        where THandler : class, IGridStreamHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddScoped<THandler>();
        services.AddSingleton(new GridHandlerRegistration((manager, provider) =>
        {
            var scopes = provider.GetRequiredService<IServiceScopeFactory>();
            return manager.RegisterStream(handler, async (stream, cancellationToken) =>
            {
                var scope = scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(stream, cancellationToken).ConfigureAwait(false);
                }
            }, options, subroute);
        }));
        return services;
    }

    private static IServiceCollection AddCore(IServiceCollection services, string? sectionPath)
    {
        services.AddOptions<GridOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GridOptions>>(new GridOptionsValidator(sectionPath)));
        services.TryAddSingleton(provider => GridSetup.CreateTransport(provider.GetRequiredService<IOptions<GridOptions>>().Value));
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<GridOptions>>().Value;
            var manager = new Manager(GridSetup.CreateManagerOptions(options, provider.GetRequiredService<GridTransport>(), provider.GetService<ILoggerFactory>()));
            foreach (var registration in provider.GetServices<GridHandlerRegistration>())
            {
                registration.Register(manager, provider);
            }

            return manager;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, GridHostedService>());
        return services;
    }
}
