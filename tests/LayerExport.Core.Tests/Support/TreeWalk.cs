namespace LayerExport.Core.Tests.Support;

/// <summary>Lists a directory tree without following symlinks.</summary>
internal static class TreeWalk
{
    private const int DirectoryType = 0x4000;

    /// <summary>Every path below <paramref name="root"/>, relative and '/'-separated, each directory before its children.</summary>
    public static IEnumerable<string> RelativePaths(string root)
    {
        foreach (var full in Directory.EnumerateFileSystemEntries(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(full);
            yield return name;
            if (Posix.Stat(full).Type == DirectoryType)
            {
                foreach (var child in RelativePaths(full))
                {
                    yield return name + "/" + child;
                }
            }
        }
    }
}
