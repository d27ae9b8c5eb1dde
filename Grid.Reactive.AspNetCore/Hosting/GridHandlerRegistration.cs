namespace Grid.Reactive.Hosting;

/// <summary>One handler added through dependency injection, registered on its grid's manager when the container builds it.</summary>
/// <param name="Grid">The grid's name; <see cref="Microsoft.Extensions.Options.Options.DefaultName"/> (empty) for the unnamed grid.</param>
/// <param name="Description">The handler as an error names it: its class, id and subroute.</param>
/// <param name="Register">Registers the handler on the manager, resolving per call from the given services.</param>
internal sealed record GridHandlerRegistration(string Grid, string Description, Func<Manager, IServiceProvider, IDisposable> Register);
