namespace LayerExport.Core.Tests.Support;

/// <summary>GNU tar, an independent tar reader.</summary>
internal static class GnuTar
{
    /// <summary>The member names, as <c>tar -tf</c> prints them; fails on any warning.</summary>
    public static async Task<IReadOnlyList<string>> ListNamesAsync(string archivePath)
    {
        var result = await ExternalTool.RunCheckedAsync("tar", "--quoting-style=literal", "-tf", archivePath);
        Assert.True(result.Stderr.Length == 0, $"{result.CommandLine} warned:\n{result.Stderr}");
        return result.StdoutLines;
    }

    /// <summary>The verbose listing, numeric owners, with xattrs; fails on any warning.</summary>
    public static async Task<IReadOnlyList<string>> ListVerboseAsync(string archivePath)
    {
        var result = await ExternalTool.RunCheckedAsync(
            "tar", "--quoting-style=literal", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-tvvf", archivePath);
        Assert.True(result.Stderr.Length == 0, $"{result.CommandLine} warned:\n{result.Stderr}");
        return result.StdoutLines;
    }

    /// <summary>
    /// Archives <paramref name="paths"/> below <paramref name="root"/> (each directory before its children; none
    /// recursed into) as a base layer: numeric owners, <c>user.*</c> xattrs; fails on any warning.
    /// </summary>
    public static async Task CreateAsync(string root, IEnumerable<string> paths, string archivePath)
    {
        var list = archivePath + ".list";
        await File.WriteAllTextAsync(list, string.Concat(paths.Select(static p => p + "\0")));
        var result = await ExternalTool.RunCheckedAsync(
            "tar", "--format=posix", "--numeric-owner", "--xattrs", "--xattrs-include=user.*", "--no-recursion", "--null",
            "-C", root, "-T", list, "-cf", archivePath);
        Assert.True(result.Stderr.Length == 0, $"{result.CommandLine} warned:\n{result.Stderr}");
    }

    /// <summary>Extracts as root would for a container: numeric owners, modes and all xattrs kept.</summary>
    public static async Task ExtractAsync(string archivePath, string destination)
    {
        Directory.CreateDirectory(destination);
        var result = await ExternalTool.RunCheckedAsync(
            "tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "--same-owner", "--same-permissions",
            "-xf", archivePath, "-C", destination);
        Assert.True(result.Stderr.Length == 0, $"{result.CommandLine} warned:\n{result.Stderr}");
    }
}
