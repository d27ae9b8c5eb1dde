// Grid.Reactive benchmarks: the grid side by side with gRPC for .NET and the raw-transport ceiling, in one process
// on loopback. See README.md beside this file.
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Micro;
using Grid.Reactive.Benchmarks.Scale;
using Grid.Reactive.Benchmarks.Stress;

RunOptions options;
try
{
    options = RunOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

if (options.Help)
{
    Console.WriteLine(RunOptions.Usage);
    return 0;
}

if (options.Scale)
{
    return ScaleRunner.Run(options);
}

if (options.Stress)
{
    return await StressRunner.RunAsync(options);
}

return options.Micro ? MicroRunner.Run(options.MicroArguments) : await Runner.RunAsync(options);
