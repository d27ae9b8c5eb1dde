using Grid.Reactive;
using Grid.Reactive.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds grid nodes and their handler classes to an application's services.</summary>
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
        Bind(services, Options.Options.DefaultName, configuration, configure);
        return services;
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
        AddCore(services, Options.Options.DefaultName, null);
        return services;
    }

    /// <summary>
    /// Adds a named grid beside the unnamed one (or beside other named grids), for example a lock service on a grid of
    /// its own path and port so its calls never queue behind data: <c>services.AddGrid("locks", configuration.GetSection("Locks"))</c>.
    /// Its <see cref="Manager"/> is a keyed singleton (<c>[FromKeyedServices("locks")] Manager</c>,
    /// <c>GetRequiredKeyedService&lt;Manager&gt;("locks")</c>); it starts and drains with the host like the unnamed grid,
    /// its options are checked at start (each error names the grid and the key), and it is served by
    /// <c>app.MapGrid("locks")</c> unless <see cref="GridOptions.SelfHost"/>. Calling it again for the same name adds
    /// the configuration and returns the same grid's builder.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="name">The grid's name: not empty, unique in the application.</param>
    /// <param name="configuration">The grid's configuration section.</param>
    /// <param name="configure">Optional changes after binding.</param>
    /// <returns>A builder that adds handler classes to this grid.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static GridBuilder AddGrid(this IServiceCollection services, string name, IConfiguration configuration, Action<GridOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configuration);
        Bind(services, name, configuration, configure);
        return new GridBuilder(services, name);
    }

    /// <summary>Adds a named grid configured in code: as <see cref="AddGrid(IServiceCollection, string, IConfiguration, Action{GridOptions}?)"/>.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="name">The grid's name: not empty, unique in the application.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>A builder that adds handler classes to this grid.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static GridBuilder AddGrid(this IServiceCollection services, string name, Action<GridOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<GridOptions>(name).Configure(configure);
        AddCore(services, name, null);
        return new GridBuilder(services, name);
    }

    /// <summary>
    /// Serves single requests for <paramref name="handler"/> on the unnamed grid with <typeparamref name="THandler"/>,
    /// resolved in a new dependency-injection scope for each call (registered as scoped unless it is registered
    /// already), once for each of <paramref name="subroutes"/>: one class serves every disk of a node, say, and sees
    /// which in <see cref="RequestContext.Subroute"/>. For a named grid, see <see cref="GridBuilder.AddHandler{THandler}(HandlerId, string[])"/>.
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="subroutes">The subroutes to serve; none: the handler id without a subroute.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public static IServiceCollection AddGridHandler<THandler>(this IServiceCollection services, HandlerId handler, params string[] subroutes)
        where THandler : class, IGridHandler
    {
        Unnamed(services).AddHandler<THandler>(handler, subroutes);
        return services;
    }

    /// <summary>
    /// Serves <paramref name="descriptor"/>'s typed requests on the unnamed grid with <typeparamref name="THandler"/>,
    /// resolved in a new dependency-injection scope for each call, once for each of <paramref name="subroutes"/>.
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="descriptor">The typed handler: its id, default subroute and serializer.</param>
    /// <param name="subroutes">The subroutes to serve; none: the descriptor's subroute.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public static IServiceCollection AddGridHandler<THandler, TRequest, TResponse>(this IServiceCollection services,
        TypedRequest<TRequest, TResponse> descriptor, params string[] subroutes)
        where THandler : class, IGridRequestHandler<TRequest, TResponse>
    {
        Unnamed(services).AddHandler<THandler, TRequest, TResponse>(descriptor, subroutes);
        return services;
    }

    /// <summary>
    /// Serves streams for <paramref name="handler"/> on the unnamed grid with <typeparamref name="THandler"/>, resolved
    /// in a new dependency-injection scope for each stream, once for each of <paramref name="subroutes"/>.
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="options">The stream windows; defaults when null.</param>
    /// <param name="subroutes">The subroutes to serve; none: the handler id without a subroute.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public static IServiceCollection AddGridStreamHandler<THandler>(this IServiceCollection services, HandlerId handler,
        StreamHandlerOptions? options = null, params string[] subroutes)
        where THandler : class, IGridStreamHandler
    {
        Unnamed(services).AddStreamHandler<THandler>(handler, options, subroutes);
        return services;
    }

    /// <summary>
    /// Serves <paramref name="descriptor"/>'s typed streams on the unnamed grid with <typeparamref name="THandler"/>,
    /// resolved in a new dependency-injection scope for each stream, once for each of <paramref name="subroutes"/>.
    /// </summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TPayload">The initial payload type.</typeparam>
    /// <typeparam name="TIn">Messages from the caller.</typeparam>
    /// <typeparam name="TOut">Messages to the caller.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="descriptor">The typed stream handler: its id, windows, default subroute and serializer.</param>
    /// <param name="subroutes">The subroutes to serve; none: the descriptor's subroute.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public static IServiceCollection AddGridStreamHandler<THandler, TPayload, TIn, TOut>(this IServiceCollection services,
        TypedStream<TPayload, TIn, TOut> descriptor, params string[] subroutes)
        where THandler : class, IGridStreamHandler<TPayload, TIn, TOut>
    {
        Unnamed(services).AddStreamHandler<THandler, TPayload, TIn, TOut>(descriptor, subroutes);
        return services;
    }

    private static GridBuilder Unnamed(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new GridBuilder(services, Options.Options.DefaultName);
    }

    private static void Bind(IServiceCollection services, string name, IConfiguration configuration, Action<GridOptions>? configure)
    {
        var options = services.AddOptions<GridOptions>(name).Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        AddCore(services, name, (configuration as IConfigurationSection)?.Path ?? string.Empty);
    }

    private static void AddCore(IServiceCollection services, string name, string? sectionPath)
    {
        if (services.Any(d => d.ServiceType == typeof(GridRegistration) && d.ImplementationInstance is GridRegistration grid && grid.Name == name))
        {
            return;
        }

        var registration = new GridRegistration(name);
        services.AddSingleton(registration);
        services.AddOptions<GridOptions>(name).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GridOptions>>(new GridOptionsValidator(registration, sectionPath));
        if (name.Length == 0)
        {
            services.TryAddSingleton(provider => GridSetup.CreateTransport(GridSetup.Options(provider, name), GridSetup.TransportLogger(provider, name)));
            services.TryAddSingleton(provider => GridSetup.CreateManager(provider, name, provider.GetRequiredService<GridTransport>()));
        }
        else
        {
            services.TryAddKeyedSingleton(name, (provider, _) => GridSetup.CreateTransport(GridSetup.Options(provider, name), GridSetup.TransportLogger(provider, name)));
            services.TryAddKeyedSingleton(name, (provider, _) => GridSetup.CreateManager(provider, name, provider.GetRequiredKeyedService<GridTransport>(name)));
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, GridHostedService>());
    }
}
