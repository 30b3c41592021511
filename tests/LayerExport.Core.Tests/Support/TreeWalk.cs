namespace LayerExport.Core.Tests.Support;

/// <summary>Lists a directory tree without following symlinks.</summary>
internal static class TreeWalk
{
    private const int DirectoryType = 0x4000;

    /// <summary>Every path below <paramref name="root"/>, relative and '/'-separated, each directory before its children.</summary>
    /// <remarks>
    /// A name the directory lists but that cannot be looked up is not there: overlayfs lists the whiteouts of a lower
    /// directory that merges nothing, but resolves no path to them.
    /// </remarks>
    public static IEnumerable<string> RelativePaths(string root)
    {
        foreach (var full in Directory.EnumerateFileSystemEntries(root).Order(StringComparer.Ordinal))
        {
            if (Posix.TryStat(full) is not { } status)
            {
                continue;
            }

            var name = Path.GetFileName(full);
            yield return name;
            if (status.Type == DirectoryType)
            {
                foreach (var child in RelativePaths(full))
                {
                    yield return name + "/" + child;
                }
            }
        }
    }
}
