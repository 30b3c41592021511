using System.Security.Cryptography;

namespace LayerExport.Core.Tests.Support;

/// <summary>Everything a layer tree says about its entries, in a form two trees can be compared by.</summary>
internal static class TreeSnapshot
{
    private const int RegularType = 0x8000;
    private const int SymlinkType = 0xA000;
    private const int DirectoryType = 0x4000;

    /// <summary>One line per entry below <paramref name="root"/> that <paramref name="include"/> accepts, in path order.</summary>
    public static IReadOnlyList<string> Take(string root, Func<string, FileMetadata, bool> include)
    {
        var nodes = new List<(string Path, FileMetadata Status)>();
        foreach (var path in TreeWalk.RelativePaths(root))
        {
            var status = Posix.Stat(Path.Combine(root, path));
            if (include(path, status))
            {
                nodes.Add((path, status));
            }
        }

        // Hard links are compared by group: every name of a file names the group's first path.
        var groups = nodes
            .Where(n => n.Status.Type == RegularType && n.Status.NLink > 1)
            .GroupBy(n => (n.Status.Device, n.Status.Inode))
            .SelectMany(g => g.Select(n => (n.Path, First: g.Select(m => m.Path).Min(StringComparer.Ordinal)!)))
            .ToDictionary(n => n.Path, n => n.First, StringComparer.Ordinal);

        return [.. nodes.Select(n => Describe(root, n.Path, n.Status, groups.GetValueOrDefault(n.Path)))];
    }

    private static string Describe(string root, string path, FileMetadata status, string? linkGroup)
    {
        var full = Path.Combine(root, path);
        var line = $"{path} type={status.Type:x} mode={Convert.ToString(status.Permissions, 8)} owner={status.Uid}:{status.Gid}";
        line += status.Type switch
        {
            RegularType => $" size={status.Size} sha256={Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(full)))}",
            SymlinkType => $" target={new FileInfo(full).LinkTarget}",
            DirectoryType => "",
            _ => $" rdev={status.RdevMajor}:{status.RdevMinor}",
        };

        // Symlink times are not compared: extractors differ on whether they restore them.
        if (status.Type != SymlinkType)
        {
            line += $" mtime={status.MtimeSeconds}";
        }

        if (linkGroup is not null)
        {
            line += $" links-with={linkGroup}";
        }

        foreach (var name in Posix.ListXattrs(full).Order(StringComparer.Ordinal))
        {
            line += $" xattr:{name}={Convert.ToHexStringLower(Posix.GetXattr(full, name))}";
        }

        return line;
    }
}
