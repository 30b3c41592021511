using System.Security.Cryptography;
using System.Text;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// What a tree shows of each entry below its root, as an applied layer must reproduce it: type, mode, owner,
/// whole-second mtime, content, symlink target, device numbers, <c>user.*</c> xattrs with a value, and which names share
/// an inode.
/// </summary>
/// <remarks>
/// Link groups count only the names visible in the tree: a merged overlay view may show one name of a lower file
/// whose other names an upper layer hid, with the link count of the file on disk. Mtimes are whole seconds, as tar
/// headers carry them.
/// </remarks>
internal sealed class ObservedTree
{
    private const int RegularType = 0x8000;
    private const int SymlinkType = 0xA000;
    private const int CharacterDeviceType = 0x2000;
    private const int BlockDeviceType = 0x6000;

    private ObservedTree(IReadOnlyList<string> paths, SortedDictionary<string, string> entries)
    {
        Paths = paths;
        Entries = entries;
    }

    /// <summary>Every path described, each directory before its children.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>One description per relative path, in ordinal path order.</summary>
    public SortedDictionary<string, string> Entries { get; }

    /// <summary>Describes every entry below <paramref name="root"/> that can be looked up (see <see cref="TreeWalk"/>), not the root itself.</summary>
    public static ObservedTree Take(string root)
    {
        var statuses = TreeWalk.RelativePaths(root).Select(p => (Path: p, Status: Posix.Stat(Path.Combine(root, p)))).ToList();
        var firstNames = statuses
            .Where(static e => e.Status.Type == RegularType)
            .GroupBy(static e => (e.Status.Device, e.Status.Inode))
            .Where(static g => g.Count() > 1)
            .SelectMany(static g => g.Select(e => (e.Path, First: g.Select(m => m.Path).Min(StringComparer.Ordinal)!)))
            .ToDictionary(static e => e.Path, static e => e.First, StringComparer.Ordinal);

        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, status) in statuses)
        {
            entries[path] = Describe(Path.Combine(root, path), status, firstNames.GetValueOrDefault(path));
        }

        return new ObservedTree([.. statuses.Select(static e => e.Path)], entries);
    }

    /// <summary>The first path, in ordinal order, whose description differs between the two trees, with both descriptions; null when none does.</summary>
    public static string? FirstDifference(ObservedTree expected, ObservedTree actual, out int differingPaths)
    {
        var paths = expected.Entries.Keys.Union(actual.Entries.Keys).Order(StringComparer.Ordinal).ToList();
        var differing = paths.Where(p => expected.Entries.GetValueOrDefault(p) != actual.Entries.GetValueOrDefault(p)).ToList();
        differingPaths = differing.Count;
        if (differing.Count == 0)
        {
            return null;
        }

        var first = differing[0];
        return $"'{first}'\n  expected: {expected.Entries.GetValueOrDefault(first) ?? "(absent)"}\n  actual:   {actual.Entries.GetValueOrDefault(first) ?? "(absent)"}";
    }

    private static string Describe(string full, FileMetadata status, string? firstName)
    {
        var line = new StringBuilder($"type={status.Type:x} mode={Convert.ToString(status.Permissions, 8)} owner={status.Uid}:{status.Gid} mtime={status.MtimeSeconds}");
        switch (status.Type)
        {
            case RegularType:
                line.Append($" size={status.Size} sha256={Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(full)))}");
                break;
            case SymlinkType:
                line.Append($" target={new FileInfo(full).LinkTarget}");
                break;
            case CharacterDeviceType or BlockDeviceType:
                line.Append($" rdev={status.RdevMajor}:{status.RdevMinor}");
                break;
        }

        if (firstName is not null)
        {
            line.Append($" links-with={firstName}");
        }

        // umoci reads xattrs through Go's archive/tar, whose Header.Xattrs leaves out a PAX record with an empty value.
        foreach (var name in Posix.ListXattrs(full).Where(static n => n.StartsWith("user.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (Posix.GetXattr(full, name) is { Length: > 0 } value)
            {
                line.Append($" xattr:{name}={Convert.ToHexStringLower(value)}");
            }
        }

        return line.ToString();
    }
}
