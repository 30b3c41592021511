namespace LayerExport.Core.Tests.Support;

/// <summary>The file descriptors this process holds, from <c>/proc/self/fd</c>.</summary>
internal static class OpenFileDescriptors
{
    private const string Table = "/proc/self/fd";

    /// <summary>
    /// The open descriptors of files as "number -> path", leaving out the one that reads the table, the libraries
    /// the runtime keeps open once it has loaded them (it loads some lazily, the first time a code path needs them),
    /// and pipes, sockets and event descriptors, which the runtime opens and closes on its own and an export never opens.
    /// </summary>
    public static IReadOnlySet<string> Snapshot() =>
        Entries()
            .Where(e => e.Target.StartsWith('/') && !IsLoadedLibrary(e.Target) && e.Target != $"/proc/{Environment.ProcessId}/fd")
            .Select(e => $"{e.Number} -> {e.Target}")
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>What the open descriptors inside <paramref name="root"/> (the root itself included) point at, sorted.</summary>
    public static IReadOnlyList<string> Under(string root) =>
        [.. Entries()
            .Select(e => e.Target)
            .Where(t => t == root || t.StartsWith(root + "/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    private static List<(string Number, string Target)> Entries()
    {
        var entries = new List<(string Number, string Target)>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(Table))
        {
            try
            {
                entries.Add((Path.GetFileName(entry), new FileInfo(entry).LinkTarget ?? ""));
            }
            catch (IOException)
            {
                // Closed between listing and reading: not open any more.
            }
        }

        return entries;
    }

    private static bool IsLoadedLibrary(string target) =>
        target.EndsWith(".dll", StringComparison.Ordinal)
        || target.EndsWith(".so", StringComparison.Ordinal)
        || target.Contains(".so.", StringComparison.Ordinal);
}
