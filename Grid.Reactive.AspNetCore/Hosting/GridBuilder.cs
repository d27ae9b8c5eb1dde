using Grid.Reactive.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Grid.Reactive;

/// <summary>
/// Adds handler classes to one grid of the application: returned by <c>services.AddGrid(name, ...)</c> for a named
/// grid (<c>services.AddGrid("locks", configuration.GetSection("Locks")).AddHandler&lt;LockHandler, LockRequest, bool&gt;(Lock)</c>).
/// The unnamed grid's handlers are added with <c>services.AddGridHandler(...)</c>, which works the same way.
/// </summary>
/// <remarks>
/// Each call (or stream) resolves its handler class in a new dependency-injection scope, disposed when it ends; the
/// class is registered as scoped unless it is registered already. A handler registered for several subroutes is one
/// class serving each of them: the call's <see cref="RequestContext.Subroute"/> tells which. Handlers are registered
/// on the grid's <see cref="Manager"/> when the container builds it; a handler added for a grid that was never added
/// fails the host's start, naming the grid.
/// </remarks>
public sealed class GridBuilder
{
    internal GridBuilder(IServiceCollection services, string name)
    {
        Services = services;
        Name = name;
    }

    /// <summary>The grid's name; empty for the unnamed grid.</summary>
    public string Name { get; }

    /// <summary>The application's services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Serves single requests for <paramref name="handler"/> with <typeparamref name="THandler"/>, once per subroute.</summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="subroutes">The subroutes to serve, each by the same class; none: the handler id without a subroute.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public GridBuilder AddHandler<THandler>(HandlerId handler, params string[] subroutes)
        where THandler : class, IGridHandler
    {
        foreach (var subroute in Routes(subroutes))
        {
            Add<THandler>(handler, subroute, (manager, scopes) => manager.Register(handler, (RequestContext context, byte[] payload) =>
                InScope<THandler, byte[]>(scopes, h => h.HandleAsync(payload, context)), subroute));
        }

        return this;
    }

    /// <summary>Serves <paramref name="descriptor"/>'s typed requests with <typeparamref name="THandler"/>, once per subroute.</summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="descriptor">The typed handler: its id, default subroute and serializer.</param>
    /// <param name="subroutes">The subroutes to serve, each by the same class; none: the descriptor's <see cref="TypedRequest{TRequest, TResponse}.Subroute"/>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public GridBuilder AddHandler<THandler, TRequest, TResponse>(TypedRequest<TRequest, TResponse> descriptor, params string[] subroutes)
        where THandler : class, IGridRequestHandler<TRequest, TResponse>
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        foreach (var subroute in Routes(subroutes))
        {
            Add<THandler>(descriptor.Id, subroute ?? descriptor.Subroute, (manager, scopes) => descriptor.Register(manager, (TRequest request, RequestContext context) =>
                InScope<THandler, TResponse>(scopes, h => h.HandleAsync(request, context)), subroute));
        }

        return this;
    }

    /// <summary>Serves streams for <paramref name="handler"/> with <typeparamref name="THandler"/>, once per subroute.</summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <param name="handler">The handler id callers use.</param>
    /// <param name="options">The stream windows; defaults when null.</param>
    /// <param name="subroutes">The subroutes to serve, each by the same class; none: the handler id without a subroute.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public GridBuilder AddStreamHandler<THandler>(HandlerId handler, StreamHandlerOptions? options = null, params string[] subroutes)
        where THandler : class, IGridStreamHandler
    {
        foreach (var subroute in Routes(subroutes))
        {
            Add<THandler>(handler, subroute, (manager, scopes) => manager.RegisterStream(handler, (stream, _) =>
                InScope<THandler>(scopes, h => h.HandleAsync(stream, stream.Context)), options, subroute));
        }

        return this;
    }

    /// <summary>Serves <paramref name="descriptor"/>'s typed streams with <typeparamref name="THandler"/>, once per subroute.</summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TPayload">The initial payload type.</typeparam>
    /// <typeparam name="TIn">Messages from the caller.</typeparam>
    /// <typeparam name="TOut">Messages to the caller.</typeparam>
    /// <param name="descriptor">The typed stream handler: its id, windows, default subroute and serializer.</param>
    /// <param name="subroutes">The subroutes to serve, each by the same class; none: the descriptor's <see cref="TypedStream{TPayload, TIn, TOut}.Subroute"/>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">A subroute is null or listed twice.</exception>
    public GridBuilder AddStreamHandler<THandler, TPayload, TIn, TOut>(TypedStream<TPayload, TIn, TOut> descriptor, params string[] subroutes)
        where THandler : class, IGridStreamHandler<TPayload, TIn, TOut>
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        foreach (var subroute in Routes(subroutes))
        {
            Add<THandler>(descriptor.Id, subroute ?? descriptor.Subroute, (manager, scopes) => descriptor.Register(manager,
                (TypedServerStream<TPayload, TIn, TOut> stream, CancellationToken _) => InScope<THandler>(scopes, h => h.HandleAsync(stream, stream.Context)),
                subroute));
        }

        return this;
    }

    private void Add<THandler>(HandlerId id, string? subroute, Func<Manager, IServiceScopeFactory, IDisposable> register)
        where THandler : class
    {
        Services.TryAddScoped<THandler>();
        var description = $"{typeof(THandler).Name} (handler {id}{(subroute is null ? string.Empty : $", subroute '{subroute}'")})";
        Services.AddSingleton(new GridHandlerRegistration(Name, description,
            (manager, provider) => register(manager, provider.GetRequiredService<IServiceScopeFactory>())));
    }

    private static string?[] Routes(string[]? subroutes)
    {
        if (subroutes is null || subroutes.Length == 0)
        {
            return [null];
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < subroutes.Length; i++)
        {
            if (subroutes[i] is null)
            {
                throw new ArgumentException($"subroutes[{i}] is null; to serve the handler without a subroute, add it without subroutes.", nameof(subroutes));
            }

            if (!seen.Add(subroutes[i]))
            {
                throw new ArgumentException($"The subroute '{subroutes[i]}' is listed twice.", nameof(subroutes));
            }
        }

        return [.. subroutes];
    }

    private static async ValueTask<T> InScope<THandler, T>(IServiceScopeFactory scopes, Func<THandler, ValueTask<T>> run)
        where THandler : notnull
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            return await run(scope.ServiceProvider.GetRequiredService<THandler>()).ConfigureAwait(false);
        }
    }

    private static async Task InScope<THandler>(IServiceScopeFactory scopes, Func<THandler, Task> run)
        where THandler : notnull
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            await run(scope.ServiceProvider.GetRequiredService<THandler>()).ConfigureAwait(false);
        }
    }
}
