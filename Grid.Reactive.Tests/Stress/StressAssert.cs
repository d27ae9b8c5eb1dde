using Grid.Reactive.Stress;

namespace Grid.Reactive.Tests.Stress;

/// <summary>Asserts a race's result: every iteration ran and no invariant was broken.</summary>
internal static class StressAssert
{
    /// <summary>
    /// Fails on any violation, except those whose kind names one of <paramref name="excused"/> (a known bug that an
    /// explicit test asserts on its own); prints the result either way.
    /// </summary>
    public static void Clean(StressResult result, long iterations, params string[] excused)
    {
        TestContext.Out.WriteLine(result.ToString());
        bool Excused(string text) => excused.Any(e => text.Contains(e, StringComparison.Ordinal));
        var unexcused = result.ViolationKinds.Where(k => !Excused(k.Key)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(unexcused, Is.Empty, () => string.Join(Environment.NewLine, result.Violations.Where(v => !Excused(v))));
            Assert.That(result.Iterations, Is.EqualTo(iterations), "every iteration ran");
        });
    }
}
