namespace Grid.Reactive.Tests.Stress;

/// <summary>
/// The races live twice, byte for byte: here for the short CI runs, and in Grid.Reactive.Benchmarks/Stress/Races for
/// the <c>--stress</c> mode (neither project may reference the other). This keeps the two copies one.
/// </summary>
[Category("Stress")]
public sealed class StressCopiesTests
{
    [Test]
    public void TheBenchmarksRaces_AreTheTestsRaces_ByteForByte()
    {
        var root = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Grid.Reactive.sln")))
        {
            root = root.Parent;
        }

        Assert.That(root, Is.Not.Null, "the tests run from inside the repository");
        var tests = Path.Combine(root!.FullName, "Grid.Reactive.Tests", "Stress", "Races");
        var benchmarks = Path.Combine(root.FullName, "Grid.Reactive.Benchmarks", "Stress", "Races");
        var names = Directory.GetFiles(tests, "*.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();

        Assert.That(names, Is.Not.Empty);
        Assert.That(Directory.GetFiles(benchmarks, "*.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(names),
            "the same files (copy Grid.Reactive.Tests/Stress/Races/*.cs to Grid.Reactive.Benchmarks/Stress/Races/)");
        Assert.Multiple(() =>
        {
            foreach (var name in names)
            {
                Assert.That(File.ReadAllText(Path.Combine(benchmarks, name!)), Is.EqualTo(File.ReadAllText(Path.Combine(tests, name!))),
                    $"{name} differs between the two copies");
            }
        });
    }
}
