using System.Text;

namespace LayerExport.Core.Tests.Support;

/// <summary>Builds the content of a layer's <c>diff/</c>; paths are relative and '/'-separated.</summary>
/// <remarks>
/// The kernel clears setuid, setgid and file capabilities on chown, so set the owner before the mode and the
/// xattrs. Creating an entry changes its directory's mtime: call <see cref="SetAllTimes"/> last.
/// </remarks>
internal sealed class LayerTree(string root)
{
    public string Root { get; } = root;

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public LayerTree Directory(string path, string mode = "755")
    {
        System.IO.Directory.CreateDirectory(PathOf(path));
        return Mode(path, mode);
    }

    public LayerTree File(string path, string content, string mode = "644") => File(path, Encoding.UTF8.GetBytes(content), mode);

    public LayerTree File(string path, byte[] content, string mode = "644")
    {
        EnsureParent(path);
        System.IO.File.WriteAllBytes(PathOf(path), content);
        return Mode(path, mode);
    }

    /// <summary>A file of <paramref name="length"/> bytes holding only <paramref name="extents"/>; the rest is holes.</summary>
    public LayerTree SparseFile(string path, long length, params (long Offset, byte[] Data)[] extents)
    {
        EnsureParent(path);
        using (var file = new FileStream(PathOf(path), FileMode.CreateNew, FileAccess.Write))
        {
            foreach (var (offset, data) in extents)
            {
                file.Position = offset;
                file.Write(data);
            }

            file.SetLength(length);
        }

        return Mode(path, "644");
    }

    public LayerTree Symlink(string path, string target)
    {
        EnsureParent(path);
        System.IO.File.CreateSymbolicLink(PathOf(path), target);
        return this;
    }

    public LayerTree HardLink(string existing, string path)
    {
        EnsureParent(path);
        Posix.HardLink(PathOf(existing), PathOf(path));
        return this;
    }

    public LayerTree CharacterDevice(string path, uint major, uint minor) => Node(path, Posix.CharacterDeviceType, major, minor);

    public LayerTree BlockDevice(string path, uint major, uint minor) => Node(path, Posix.BlockDeviceType, major, minor);

    /// <summary>An overlayfs whiteout: a character device 0:0 named like the deleted entry.</summary>
    public LayerTree OverlayWhiteout(string path) => CharacterDevice(path, 0, 0);

    public LayerTree Fifo(string path)
    {
        EnsureParent(path);
        Posix.MakeFifo(PathOf(path));
        return this;
    }

    /// <summary>A unix socket file, as bind(2) leaves it (Linux mknod makes the same inode).</summary>
    public LayerTree Socket(string path) => Node(path, Posix.SocketType, 0, 0);

    /// <summary>Renames an entry within its directory to a name that need not be UTF-8; the other methods cannot reach it after.</summary>
    /// <remarks>The rename changes the directory's mtime, and <see cref="SetAllTimes"/> cannot walk such a name: set the directory's time after.</remarks>
    public LayerTree RenameToRawName(string path, byte[] name)
    {
        var directory = Path.GetDirectoryName(PathOf(path)) ?? Root;
        Posix.Rename(PathOf(path), [.. Encoding.UTF8.GetBytes(directory + "/"), .. name]);
        return this;
    }

    public LayerTree Owner(string path, long uid, long gid)
    {
        Posix.ChangeOwner(PathOf(path), uid, gid);
        return this;
    }

    /// <summary>chmod with an octal mode such as "4755", setuid, setgid and sticky included.</summary>
    public LayerTree Mode(string path, string mode)
    {
        Posix.ChangeMode(PathOf(path), Convert.ToInt32(mode, 8));
        return this;
    }

    public LayerTree Xattr(string path, string name, string value) => Xattr(path, name, Encoding.UTF8.GetBytes(value));

    public LayerTree Xattr(string path, string name, byte[] value)
    {
        Posix.SetXattr(PathOf(path), name, value);
        return this;
    }

    public LayerTree ModificationTime(string path, long seconds, long nanoseconds = 0)
    {
        Posix.SetModificationTime(PathOf(path), seconds, nanoseconds);
        return this;
    }

    /// <summary>Gives every entry below the root (not the root) the same mtime, children before their directory.</summary>
    public LayerTree SetAllTimes(long seconds, long nanoseconds = 0)
    {
        foreach (var path in TreeWalk.RelativePaths(Root).Reverse())
        {
            Posix.SetModificationTime(PathOf(path), seconds, nanoseconds);
        }

        return this;
    }

    private LayerTree Node(string path, int type, uint major, uint minor)
    {
        EnsureParent(path);
        Posix.MakeNode(PathOf(path), type | Convert.ToInt32("644", 8), major, minor);
        return this;
    }

    private void EnsureParent(string path)
    {
        var parent = Path.GetDirectoryName(PathOf(path));
        if (parent is not null)
        {
            System.IO.Directory.CreateDirectory(parent);
        }
    }
}
