namespace IntegrationTests.Support;

/// <summary>The open file descriptors of this test process, from <c>/proc/self/fd</c>.</summary>
internal static class OpenFileDescriptors
{
    /// <summary>
    /// What each open descriptor refers to (a path, <c>socket:[…]</c>, <c>pipe:[…]</c>, …), leaving out the
    /// assembly files the runtime maps when code first runs: those stay open for the life of the process.
    /// </summary>
    public static List<string> Targets()
    {
        List<string> targets = [];
        foreach (var fd in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && !target.EndsWith(".dll", StringComparison.Ordinal))
                {
                    targets.Add(target);
                }
            }
            catch (IOException)
            {
                // The descriptor was closed between the listing and the readlink.
            }
        }

        targets.Sort(StringComparer.Ordinal);
        return targets;
    }

    /// <summary>Descriptors whose target lies under <paramref name="directory"/> (files and directories the store opened).</summary>
    public static List<string> Under(string directory)
    {
        var prefix = directory.TrimEnd('/');
        return [.. Targets().Where(t => t == prefix || t.StartsWith(prefix + "/", StringComparison.Ordinal))];
    }

    /// <summary>The targets in <paramref name="after"/> beyond those in <paramref name="before"/>, counting repeats.</summary>
    public static List<string> Added(IReadOnlyList<string> before, IReadOnlyList<string> after)
    {
        var added = after.ToList();
        foreach (var target in before)
        {
            added.Remove(target);
        }

        return added;
    }
}
