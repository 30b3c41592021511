namespace LayerExport.Core.Tests.Support;

/// <summary>The file descriptors this process holds, from <c>/proc/self/fd</c>.</summary>
internal static class OpenFileDescriptors
{
    private const string Table = "/proc/self/fd";

    /// <summary>
    /// How many descriptors are open, leaving out the libraries the runtime keeps open once it has loaded them
    /// (it loads some lazily, the first time a code path needs them). The one reading the table is counted every time.
    /// </summary>
    public static int Count() => Targets().Count(t => !IsLoadedLibrary(t));

    /// <summary>What the open descriptors inside <paramref name="root"/> (the root itself included) point at, sorted.</summary>
    public static IReadOnlyList<string> Under(string root) =>
        [.. Targets().Where(t => t == root || t.StartsWith(root + "/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private static List<string> Targets()
    {
        var targets = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(Table))
        {
            try
            {
                targets.Add(new FileInfo(entry).LinkTarget ?? "");
            }
            catch (IOException)
            {
                // Closed between listing and reading: not open any more.
            }
        }

        return targets;
    }

    private static bool IsLoadedLibrary(string target) =>
        target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".so", StringComparison.Ordinal) || target.Contains(".so.", StringComparison.Ordinal);
}
