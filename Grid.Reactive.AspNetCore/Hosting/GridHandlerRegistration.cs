namespace Grid.Reactive.Hosting;

/// <summary>One handler added through dependency injection, registered on the manager when the container builds it.</summary>
/// <param name="Register">Registers the handler on the manager, resolving per call from the given services.</param>
internal sealed record GridHandlerRegistration(Func<Manager, IServiceProvider, IDisposable> Register);
