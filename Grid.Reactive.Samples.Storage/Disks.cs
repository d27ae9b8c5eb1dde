namespace Grid.Reactive.Samples.Storage;

/// <summary>A node's disks: one temporary directory per disk, deleted when the node stops.</summary>
internal sealed class Disks : IDisposable
{
    private readonly Dictionary<string, string> _roots = [];

    public Disks(string node)
    {
        Node = node;
        foreach (var disk in StorageCalls.Disks)
        {
            var root = Directory.CreateTempSubdirectory($"grid-storage-{disk}-").FullName;
            Directory.CreateDirectory(Path.Combine(root, "bucket", "objects"));
            File.WriteAllText(Path.Combine(root, "bucket", "format.json"), $"{{\"node\":\"{node}\",\"disk\":\"{disk}\"}}");
            File.WriteAllText(Path.Combine(root, "bucket", "objects", "a.part"), new string('a', 1024));
            File.WriteAllText(Path.Combine(root, "bucket", "objects", "b.part"), new string('b', 2048));
            _roots[disk] = root;
        }
    }

    public string Node { get; }

    /// <summary>The path of <paramref name="relative"/> on <paramref name="disk"/>; refuses paths that leave the disk.</summary>
    public string Resolve(string? disk, string relative)
    {
        if (disk is null || !_roots.TryGetValue(disk, out var root))
        {
            throw new ArgumentException($"'{disk}' is not a disk of {Node}.", nameof(disk));
        }

        var full = Path.GetFullPath(Path.Combine(root, relative));
        return full.StartsWith(root, StringComparison.Ordinal)
            ? full
            : throw new ArgumentException($"'{relative}' is outside {disk}.", nameof(relative));
    }

    public string Root(string? disk) => Resolve(disk, ".");

    public void Dispose()
    {
        foreach (var root in _roots.Values)
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
