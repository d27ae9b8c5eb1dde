namespace Grid.Reactive.Hosting;

/// <summary>A grid added with <c>services.AddGrid(...)</c>: one per name, the unnamed grid's name empty.</summary>
/// <param name="Name">The grid's name; <see cref="Microsoft.Extensions.Options.Options.DefaultName"/> (empty) for the unnamed grid.</param>
internal sealed record GridRegistration(string Name);
