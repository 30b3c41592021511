using LayerExport.Core.Native;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Reader;

/// <summary>Turns one listed name of an opened directory into a tar entry: header, xattrs, owner override, content.</summary>
/// <remarks>
/// Every name is opened relative to its already-opened directory without following symlinks, and what was
/// opened is checked against what was listed, so nothing outside the layer can be read. The walks decide
/// which names become entries; this class only says what each one is.
/// </remarks>
internal sealed class DiskEntryReader(bool openContent)
{
    private const int PermissionBits = 0xFFF;

    private readonly HardLinkTracker _links = new();

    /// <summary>The entry for <paramref name="name"/>; null for a socket, which no tar can carry.</summary>
    /// <param name="directory">The opened directory that lists the name.</param>
    /// <param name="name">The name in that directory.</param>
    /// <param name="path">The entry path in the tar, without a trailing '/'.</param>
    /// <param name="listed">What the listing said the name is.</param>
    /// <param name="opened">For a directory, the opened directory to walk into (the caller owns it); null otherwise.</param>
    public LayerEntry? Read(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed, out FileDescriptor? opened)
    {
        opened = null;
        if (listed.IsMountRoot)
        {
            throw MountPoint();
        }

        switch (listed.Type)
        {
            case Libc.S_IFDIR:
            {
                var entry = ReadDirectory(directory, name, path, listed, out var openedDirectory);
                opened = openedDirectory.Descriptor;
                return entry;
            }

            case Libc.S_IFREG:
                return ReadRegularFile(directory, name, path, listed);
            case Libc.S_IFLNK:
            case Libc.S_IFCHR:
            case Libc.S_IFBLK:
            case Libc.S_IFIFO:
                return Entry(Describe(directory, name, path, listed)!, listed);
            default:
                // Sockets cannot be archived; every peer leaves them out.
                return null;
        }
    }

    /// <summary>The entry for a listed name; regular files and directories are opened straight away, without a stat first.</summary>
    /// <param name="directory">The opened directory that lists the name.</param>
    /// <param name="child">The name as the listing gave it.</param>
    /// <param name="path">The entry path in the tar, without a trailing '/'.</param>
    /// <param name="device">The directory's device: an entry on another one is a mount point and is refused.</param>
    /// <param name="opened">For a directory, the opened directory to walk into (the caller owns it); null otherwise.</param>
    /// <remarks>What was opened is checked against the listing's type and inode, so a name swapped between the listing and the open is caught.</remarks>
    public LayerEntry? Read(FileDescriptor directory, in DirectoryEntry child, byte[] path, ulong device, out OpenedDirectory? opened)
    {
        if (!openContent || child.Type is not (Libc.DT_REG or Libc.DT_DIR))
        {
            var listed = directory.StatAt(child.Name);
            CheckNotMounted(listed, device);

            opened = null;
            if (listed.Type == Libc.S_IFDIR)
            {
                var entry = ReadDirectory(directory, child.Name, path, listed, out var openedDirectory);
                opened = openedDirectory;
                return entry;
            }

            return Read(directory, child.Name, path, listed, out _);
        }

        opened = null;
        var descriptor = child.Type == Libc.DT_DIR ? OpenListedDirectory(directory, child.Name) : OpenListedFile(directory, child.Name);
        try
        {
            var status = descriptor.Stat();
            CheckListed(directory, child, device, status);
            if (status.Type == Libc.S_IFDIR)
            {
                var entry = DirectoryEntryOf(descriptor, path, status, out var xattrNames);
                opened = new OpenedDirectory(descriptor, xattrNames);
                return entry;
            }

            return RegularFileEntry(descriptor, path, status);
        }
        catch
        {
            descriptor.Dispose();
            throw;
        }
    }

    /// <summary>The header <paramref name="name"/> would get, read without opening it; null for a socket.</summary>
    /// <remarks>Hard links are not considered: two names of one file describe alike, which is what comparisons need.</remarks>
    public static TarEntryHeader? Describe(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed)
    {
        switch (listed.Type)
        {
            case Libc.S_IFDIR:
            {
                var (xattrs, overridden) = ReadXattrs(directory, name);
                return Apply(Header([.. path, (byte)'/'], TarEntryType.Directory, listed) with { Xattrs = xattrs }, overridden, static () => []);
            }

            case Libc.S_IFREG:
                return DescribeRegularFile(directory, name, path, listed, out _);

            case Libc.S_IFLNK:
                return Header(path, TarEntryType.SymbolicLink, listed) with { LinkName = ReadListedLink(directory, name, listed) };
            case Libc.S_IFCHR:
                return DeviceHeader(path, TarEntryType.CharacterDevice, listed);
            case Libc.S_IFBLK:
                return DeviceHeader(path, TarEntryType.BlockDevice, listed);
            case Libc.S_IFIFO:
                return Header(path, TarEntryType.Fifo, listed);
            default:
                return null;
        }
    }

    private static TarEntryHeader DescribeRegularFile(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed, out bool hasAccessAcl)
    {
        var names = directory.ListXattrsAt(name);
        hasAccessAcl = names.Exists(static n => n.AsSpan().SequenceEqual(ReadPermission.AccessAcl));
        var (xattrs, overridden) = SelectXattrs(names, n => directory.GetXattrAt(name, n));
        var described = Header(path, TarEntryType.RegularFile, listed) with { Size = listed.Size, Xattrs = xattrs };
        var status = listed;
        return Apply(described, overridden, () => ReadSmallFile(directory, name, status));
    }

    /// <summary>Opens a listed directory and checks it is the one listed.</summary>
    public static FileDescriptor OpenDirectory(FileDescriptor parent, byte[] name, in FileStatus listed)
    {
        var directory = OpenListedDirectory(parent, name);
        if (!directory.Stat().IsSameFile(listed))
        {
            directory.Dispose();
            throw new LayerChangedException("directory was replaced while being read");
        }

        return directory;
    }

    /// <summary>Opens a name its directory listed as a regular file.</summary>
    /// <exception cref="LayerChangedException">A symlink stands there now: the entry was replaced after the listing.</exception>
    public static FileDescriptor OpenListedFile(FileDescriptor directory, byte[] name)
    {
        try
        {
            return directory.OpenFileAt(name);
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw Replaced();
        }
    }

    /// <summary>A deletion: OCI whiteouts carry no metadata (mode 0, owner 0, mtime 0), so they never vary between hosts.</summary>
    public static LayerEntry Whiteout(byte[] path) => new(new TarEntryHeader { Name = path, Type = TarEntryType.RegularFile });

    private static LayerEntry ReadDirectory(FileDescriptor parent, byte[] name, byte[] path, in FileStatus listed, out OpenedDirectory opened)
    {
        var directory = OpenDirectory(parent, name, listed);
        try
        {
            var entry = DirectoryEntryOf(directory, path, directory.Stat(), out var xattrNames);
            opened = new OpenedDirectory(directory, xattrNames);
            return entry;
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    private static LayerEntry DirectoryEntryOf(FileDescriptor directory, byte[] path, in FileStatus status, out List<byte[]> xattrNames)
    {
        EncryptedDirectory.RequireKey(directory, status);
        xattrNames = directory.ListXattrs();
        var (xattrs, overridden) = SelectXattrs(xattrNames, name => directory.GetXattr(name));
        var header = Apply(Header([.. path, (byte)'/'], TarEntryType.Directory, status) with { Xattrs = xattrs }, overridden, static () => []);
        return Entry(header, status);
    }

    // A name listed as a directory that is now a symlink or a file fails the open (ELOOP, ENOTDIR): it was replaced.
    private static FileDescriptor OpenListedDirectory(FileDescriptor parent, byte[] name)
    {
        try
        {
            return parent.OpenDirectoryAt(name);
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw Replaced();
        }
    }

    // readlink of a name listed as a symlink fails with EINVAL only when something else stands there now. The header
    // comes from the listed status, so the name is looked at again after the read: another symlink put in its place
    // meanwhile (another inode, or the same inode number given anew, with another ctime) gave the target.
    private static byte[] ReadListedLink(FileDescriptor directory, byte[] name, in FileStatus listed)
    {
        byte[] target;
        try
        {
            target = directory.ReadLinkAt(name);
        }
        catch (NativeIOException e) when (e.Errno == Libc.EINVAL)
        {
            throw Replaced();
        }

        // A clock that stamps in ticks keeps the ctime of a change within one: the owner the header took and the
        // target's length (a symlink's size) are compared too.
        var now = directory.StatAt(name);
        if (!now.IsSameFile(listed) || now.CtimeSeconds != listed.CtimeSeconds || now.CtimeNanoseconds != listed.CtimeNanoseconds
            || now.Uid != listed.Uid || now.Gid != listed.Gid || target.Length != listed.Size)
        {
            throw Replaced();
        }

        return target;
    }

    private static LayerChangedException Replaced() => new("entry was replaced while being read");

    // st_dev alone misses a bind mount from the same file system; the kernel marks every mount's root instead.
    private static void CheckNotMounted(in FileStatus status, ulong device)
    {
        if (status.Device != device || status.IsMountRoot)
        {
            throw MountPoint();
        }
    }

    /// <summary>Refuses a name that is not on the mount of <paramref name="root"/>, its walk's root: a mount point, by the kernel's mark or by its mount ID.</summary>
    /// <remarks>
    /// The mount ID where the kernel gives one (Linux 5.8 or later), not the device: a btrfs subvolume nested in a tree
    /// has a device of its own on the same mount, as a file of an overlayfs without xino has its layer's, and both are
    /// the tree's content. The device only where there is no mount ID.
    /// </remarks>
    /// <exception cref="InvalidDataException">It is a mount point.</exception>
    public static void CheckOnMountOf(in FileStatus status, in FileStatus root)
    {
        if (status.IsMountRoot || (root.MountId is { } mount ? status.MountId != mount : status.Device != root.Device))
        {
            throw MountPoint();
        }
    }

    private static InvalidDataException MountPoint() =>
        new("it is a mount point: another file system or a bind mount is mounted on it, which is not part of the layer");

    // The listing's inode is trusted where the file system keeps it equal to st_ino; otherwise the name is stat'ed.
    private static void CheckListed(FileDescriptor directory, in DirectoryEntry child, ulong device, in FileStatus opened)
    {
        var expectedType = child.Type == Libc.DT_DIR ? Libc.S_IFDIR : Libc.S_IFREG;
        if (opened.Type != expectedType)
        {
            throw Replaced();
        }

        CheckNotMounted(opened, device);
        if (opened.Inode != child.Inode && !directory.StatAt(child.Name).IsSameFile(opened))
        {
            throw Replaced();
        }
    }

    private LayerEntry ReadRegularFile(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed)
    {
        if (listed.NLink > 1 && _links.TryGetFirstPath(listed.Device, listed.Inode, out var firstPath))
        {
            return Entry(Header(path, TarEntryType.HardLink, listed) with { LinkName = firstPath }, listed);
        }

        if (!openContent)
        {
            if (listed.NLink > 1)
            {
                _links.Remember(listed.Device, listed.Inode, path);
            }

            var header = DescribeRegularFile(directory, name, path, listed, out var hasAccessAcl);
            ReadPermission.Require(directory, name, listed, hasAccessAcl);
            return Entry(header, listed);
        }

        var file = OpenListedFile(directory, name);
        try
        {
            var opened = file.Stat();
            if (opened.Type != Libc.S_IFREG || !opened.IsSameFile(listed))
            {
                throw new LayerChangedException("file was replaced while being read");
            }

            return RegularFileEntry(file, path, opened);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    // Takes ownership of the opened file: it becomes the entry's content, or is closed when no content is needed.
    private LayerEntry RegularFileEntry(FileDescriptor file, byte[] path, in FileStatus opened)
    {
        if (opened.NLink > 1)
        {
            if (_links.TryGetFirstPath(opened.Device, opened.Inode, out var firstPath))
            {
                file.Dispose();
                return Entry(Header(path, TarEntryType.HardLink, opened) with { LinkName = firstPath }, opened);
            }

            _links.Remember(opened.Device, opened.Inode, path);
        }

        var size = opened.Size;
        var (xattrs, overridden) = ReadXattrs(file);
        var status = opened;
        var header = Apply(Header(path, TarEntryType.RegularFile, opened) with { Size = size, Xattrs = xattrs }, overridden, () => ReadAll(file, status));
        if (header.Type != TarEntryType.RegularFile)
        {
            file.Dispose();
            return Entry(header, opened);
        }

        return new LayerEntry(header, new FileContent(file, opened)) { Identity = EntryIdentity.Of(opened) };
    }

    private static (List<Xattr> Xattrs, ContainersOverrideStat? Override) ReadXattrs(FileDescriptor file) =>
        SelectXattrs(file.ListXattrs(), name => file.GetXattr(name));

    private static (List<Xattr> Xattrs, ContainersOverrideStat? Override) ReadXattrs(FileDescriptor directory, byte[] child) =>
        SelectXattrs(directory.ListXattrsAt(child), name => directory.GetXattrAt(child, name));

    private static (List<Xattr> Xattrs, ContainersOverrideStat? Override) SelectXattrs(List<byte[]> names, Func<byte[], byte[]?> read)
    {
        var xattrs = new List<Xattr>();
        var exported = 0L;
        ContainersOverrideStat? overridden = null;
        var overrideRank = int.MaxValue;
        names.Sort(ByteOrder.Instance);
        foreach (var name in names)
        {
            if (ExportedXattrs.NeedsLowerLayers(name))
            {
                throw new InvalidDataException(
                    $"it carries {System.Text.Encoding.UTF8.GetString(name)}: its content lives in a lower layer, so this upper directory cannot be exported on its own (mount overlayfs without redirect_dir and metacopy)");
            }

            if (ContainersOverrideStat.Rank(name) is var rank and >= 0)
            {
                if (rank < overrideRank && read(name) is { } stat)
                {
                    (overridden, overrideRank) = (ContainersOverrideStat.Parse(stat), rank);
                }
            }
            else if (ExportedXattrs.IsExported(name) && read(name) is { } value)
            {
                // A file system may hold far more than a PAX header can carry; the entry fails here, before it is all in memory.
                exported += name.Length + value.Length;
                if (exported > TarHeaderEncoder.MaxPaxDataLength)
                {
                    throw new InvalidDataException($"its exported extended attributes take more than the {TarHeaderEncoder.MaxPaxDataLength} bytes a PAX header holds here");
                }

                xattrs.Add(new Xattr(name, value));
            }
        }

        return (xattrs, overridden);
    }

    // The store's record of the true owner, mode and type wins over what it could keep on disk.
    private static TarEntryHeader Apply(TarEntryHeader header, ContainersOverrideStat? overridden, Func<byte[]> readContent)
    {
        if (overridden is null)
        {
            return header;
        }

        var owned = header with { Uid = overridden.Uid, Gid = overridden.Gid, Mode = overridden.Mode };
        return (overridden.Kind, header.Type) switch
        {
            (null or "file", TarEntryType.RegularFile) or (null or "dir", TarEntryType.Directory) => owned,
            ("symlink", TarEntryType.RegularFile) => owned with { Type = TarEntryType.SymbolicLink, Size = 0, LinkName = readContent() },
            ("pipe", TarEntryType.RegularFile) => owned with { Type = TarEntryType.Fifo, Size = 0 },
            ("char", TarEntryType.RegularFile) => owned with { Type = TarEntryType.CharacterDevice, Size = 0, DeviceMajor = overridden.Major, DeviceMinor = overridden.Minor },
            ("block", TarEntryType.RegularFile) => owned with { Type = TarEntryType.BlockDevice, Size = 0, DeviceMajor = overridden.Major, DeviceMinor = overridden.Minor },
            _ => throw new InvalidDataException($"override_stat says '{overridden.Kind}', which this entry cannot stand for"),
        };
    }

    // A symlink kept as a regular file holds its target as content; targets are short, so this is bounded.
    private static byte[] ReadSmallFile(FileDescriptor directory, byte[] name, FileStatus listed)
    {
        using var file = OpenListedFile(directory, name);
        var status = file.Stat();
        return status.Type == Libc.S_IFREG && status.IsSameFile(listed) ? ReadAll(file, status) : throw new LayerChangedException("file was replaced while being read");
    }

    // The whole target, as the file held it at its status: one byte more, or a file written to meanwhile, is a changed target.
    private static byte[] ReadAll(FileDescriptor file, in FileStatus opened)
    {
        var size = opened.Size;
        if (size > 64 * 1024)
        {
            throw new InvalidDataException($"a symlink target of {size} bytes is not plausible");
        }

        var target = new byte[size + 1];
        var read = 0;
        for (int n; read < target.Length; read += n)
        {
            n = file.ReadAt(target.AsSpan(read), read);
            if (n == 0)
            {
                break;
            }
        }

        if (read < size)
        {
            throw new LayerChangedException("file shrank while being read");
        }

        if (read > size)
        {
            throw new LayerChangedException("file grew while being read");
        }

        EnsureUnchanged(file, opened);
        return target[..(int)size];
    }

    /// <summary>Throws when the opened file was deleted, replaced under its name or written to since <paramref name="opened"/> was taken.</summary>
    /// <remarks>
    /// The open descriptor still reads the old file after an unlink or a rename over its name; its link count (none left)
    /// and its times (an unlink, link, chmod or write moves ctime) tell. A clock that stamps in jiffies or whole seconds
    /// (kernels before 6.13, ext4 of 128-byte inodes) keeps the ctime of a change within its tick, so the mode and owner
    /// the header took are compared too.
    /// </remarks>
    internal static void EnsureUnchanged(FileDescriptor file, in FileStatus opened)
    {
        var now = file.Stat();
        if (now.NLink == 0)
        {
            throw new LayerChangedException("file was deleted or replaced while being read");
        }

        if (now.Size != opened.Size || now.Mode != opened.Mode || now.Uid != opened.Uid || now.Gid != opened.Gid
            || now.MtimeSeconds != opened.MtimeSeconds || now.MtimeNanoseconds != opened.MtimeNanoseconds
            || now.CtimeSeconds != opened.CtimeSeconds || now.CtimeNanoseconds != opened.CtimeNanoseconds)
        {
            throw new LayerChangedException("file was changed while being read");
        }
    }

    private static LayerEntry Entry(TarEntryHeader header, in FileStatus status) => new(header) { Identity = EntryIdentity.Of(status) };

    private static TarEntryHeader Header(byte[] path, TarEntryType type, in FileStatus status) => new()
    {
        Name = path,
        Type = type,
        Mode = status.Mode & PermissionBits,
        Uid = status.Uid,
        Gid = status.Gid,
        ModificationTime = status.MtimeSeconds,
    };

    private static TarEntryHeader DeviceHeader(byte[] path, TarEntryType type, in FileStatus status) =>
        Header(path, type, status) with { DeviceMajor = status.RdevMajor, DeviceMinor = status.RdevMinor };

    private sealed class FileContent(FileDescriptor file, FileStatus opened) : IEntryContent
    {
        public int Read(Span<byte> destination, long offset) => file.ReadAt(destination, offset);

        public bool ReadsShortOnlyAtEnd => true;

        public void EnsureUnchanged() => DiskEntryReader.EnsureUnchanged(file, opened);

        public void Dispose() => file.Dispose();
    }
}
