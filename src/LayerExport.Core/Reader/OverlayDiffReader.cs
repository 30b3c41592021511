using System.Diagnostics.CodeAnalysis;
using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Reader;

/// <summary>Reads a layer's <c>diff/</c> directory (overlay upper-dir or aufs form) as tar entries, in OCI order.</summary>
/// <remarks>
/// The walk is pre-order with each directory's names in ordinal byte order. Right after a directory's header
/// come its opaque marker and the whiteouts of its deleted children, so an extractor applies deletions before
/// it creates anything below. Deletions on disk are either overlayfs character devices 0:0 or literal
/// <c>.wh.</c> files; both become the same entry, so both forms of a layer export to the same bytes.
/// Every name is opened relative to its already-opened directory without following symlinks, and what was
/// opened is checked against what was listed, so nothing outside the layer can be read.
/// </remarks>
internal sealed class OverlayDiffReader : ILayerEntryReader
{
    private const int PermissionBits = 0xFFF;

    private readonly Stack<Frame> _frames = new();
    private readonly Queue<LayerEntry> _pending = new();
    private readonly HardLinkTracker _links = new();
    private readonly bool _openContent;

    /// <summary>Starts a walk of <paramref name="diff"/>; the caller keeps ownership of the descriptor.</summary>
    /// <param name="diff">The layer's diff directory.</param>
    /// <param name="openContent">False for a metadata walk: regular files are described but never opened.</param>
    public OverlayDiffReader(FileDescriptor diff, bool openContent)
    {
        _openContent = openContent;
        try
        {
            Enter(diff, [], ownsDirectory: false);
        }
        catch (Exception e) when (e is not LayerExportException)
        {
            throw new LayerExportException("(layer root)", e.Message, e);
        }
    }

    /// <inheritdoc />
    public bool TryRead([NotNullWhen(true)] out LayerEntry? entry)
    {
        if (_pending.TryDequeue(out entry))
        {
            return true;
        }

        while (_frames.TryPeek(out var frame))
        {
            if (frame.Next >= frame.Children.Count)
            {
                _frames.Pop().Dispose();
                continue;
            }

            var name = frame.Children[frame.Next++];
            byte[] path = [.. frame.Prefix, .. name];
            try
            {
                entry = ReadChild(frame.Directory, name, path);
            }
            catch (Exception e) when (e is not LayerExportException)
            {
                throw new LayerExportException(Encoding.UTF8.GetString(path), e.Message, e);
            }

            if (entry is not null)
            {
                return true;
            }
        }

        entry = null;
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        while (_frames.TryPop(out var frame))
        {
            frame.Dispose();
        }

        while (_pending.TryDequeue(out var entry))
        {
            entry.Dispose();
        }
    }

    private LayerEntry? ReadChild(FileDescriptor directory, byte[] name, byte[] path)
    {
        var listed = directory.StatAt(name);
        switch (listed.Type)
        {
            case Libc.S_IFDIR:
                return ReadDirectory(directory, name, path, listed);
            case Libc.S_IFREG:
                return ReadRegularFile(directory, name, path, listed);
            case Libc.S_IFLNK:
                return Entry(Header(path, TarEntryType.SymbolicLink, listed) with { LinkName = directory.ReadLinkAt(name) }, listed);
            case Libc.S_IFCHR:
                return Entry(DeviceHeader(path, TarEntryType.CharacterDevice, listed), listed);
            case Libc.S_IFBLK:
                return Entry(DeviceHeader(path, TarEntryType.BlockDevice, listed), listed);
            case Libc.S_IFIFO:
                return Entry(Header(path, TarEntryType.Fifo, listed), listed);
            default:
                // Sockets cannot be archived; every peer leaves them out.
                return null;
        }
    }

    private LayerEntry ReadDirectory(FileDescriptor parent, byte[] name, byte[] path, in FileStatus listed)
    {
        var directory = parent.OpenDirectoryAt(name);
        try
        {
            var opened = directory.Stat();
            if (!opened.IsSameFile(listed))
            {
                throw new LayerChangedException("directory was replaced while being read");
            }

            byte[] directoryPath = [.. path, (byte)'/'];
            var (xattrs, overridden) = ReadXattrs(directory);
            var header = Apply(Header(directoryPath, TarEntryType.Directory, opened) with { Xattrs = xattrs }, overridden, static () => []);
            Enter(directory, directoryPath, ownsDirectory: true);
            return Entry(header, opened);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    private LayerEntry ReadRegularFile(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed)
    {
        if (listed.NLink > 1 && _links.TryGetFirstPath(listed.Device, listed.Inode, out var firstPath))
        {
            return Entry(Header(path, TarEntryType.HardLink, listed) with { LinkName = firstPath }, listed);
        }

        if (!_openContent)
        {
            if (listed.NLink > 1)
            {
                _links.Remember(listed.Device, listed.Inode, path);
            }

            var (xattrs, overridden) = ReadXattrs(directory, name);
            var described = Header(path, TarEntryType.RegularFile, listed) with { Size = listed.Size, Xattrs = xattrs };
            return Entry(Apply(described, overridden, () => ReadSmallFile(directory, name)), listed);
        }

        var file = directory.OpenFileAt(name);
        try
        {
            var opened = file.Stat();
            if (opened.Type != Libc.S_IFREG || !opened.IsSameFile(listed))
            {
                throw new LayerChangedException("file was replaced while being read");
            }

            if (opened.NLink > 1)
            {
                _links.Remember(opened.Device, opened.Inode, path);
            }

            var (xattrs, overridden) = ReadXattrs(file);
            var header = Apply(Header(path, TarEntryType.RegularFile, opened) with { Size = opened.Size, Xattrs = xattrs }, overridden, () => ReadAll(file, opened.Size));
            if (header.Type != TarEntryType.RegularFile)
            {
                file.Dispose();
                return new LayerEntry(header) { Identity = Identity(opened) };
            }

            return new LayerEntry(header, new FileContent(file)) { Identity = Identity(opened) };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    // Lists a directory and queues its opaque marker and whiteouts; its other children are read one by one later.
    private void Enter(FileDescriptor directory, byte[] prefix, bool ownsDirectory)
    {
        var marker = OpaqueMarkerValue(directory);
        var opaque = marker is (byte)'y';

        // "x" marks a directory that holds xattr whiteouts; only there are zero-size files worth a look.
        var holdsXattrWhiteouts = marker is (byte)'x';
        var deleted = new SortedSet<byte[]>(ByteOrder.Instance);
        var children = new List<byte[]>();
        foreach (var (name, type) in directory.ReadDirectory())
        {
            switch (WhiteoutName.Classify(name, out var deletedName))
            {
                case WhiteoutKind.Opaque:
                    opaque = true;
                    continue;
                case WhiteoutKind.AufsMetadata:
                    continue;
                case WhiteoutKind.Deletion when deletedName.IsEmpty:
                    throw new LayerExportException(Encoding.UTF8.GetString([.. prefix, .. name]), "a whiteout must name what it deletes");
                case WhiteoutKind.Deletion:
                    deleted.Add(deletedName.ToArray());
                    continue;
            }

            if (type is Libc.DT_CHR or Libc.DT_UNKNOWN && IsOverlayWhiteout(directory.StatAt(name)))
            {
                deleted.Add(name);
                continue;
            }

            if (holdsXattrWhiteouts && type is Libc.DT_REG or Libc.DT_UNKNOWN && IsXattrWhiteout(directory, name))
            {
                deleted.Add(name);
                continue;
            }

            children.Add(name);
        }

        children.Sort(ByteOrder.Instance);
        if (opaque)
        {
            _pending.Enqueue(new LayerEntry(WhiteoutHeader([.. prefix, .. WhiteoutName.OpaqueMarker])));
        }

        foreach (var name in deleted)
        {
            _pending.Enqueue(new LayerEntry(WhiteoutHeader([.. prefix, .. WhiteoutName.For(name)])));
        }

        _frames.Push(new Frame(directory, prefix, children, ownsDirectory));
    }

    private static bool IsOverlayWhiteout(in FileStatus status) =>
        status.Type == Libc.S_IFCHR && status.RdevMajor == 0 && status.RdevMinor == 0;

    // The value of the directory's overlay opaque attribute: 'y' (opaque), 'x' (holds xattr whiteouts) or none.
    private static byte? OpaqueMarkerValue(FileDescriptor directory)
    {
        foreach (var marker in ExportedXattrs.OpaqueMarkers)
        {
            if (directory.GetXattr(marker) is [var value])
            {
                return value;
            }
        }

        return null;
    }

    private static bool IsXattrWhiteout(FileDescriptor directory, byte[] name)
    {
        var status = directory.StatAt(name);
        if (status.Type != Libc.S_IFREG || status.Size != 0)
        {
            return false;
        }

        foreach (var marker in ExportedXattrs.WhiteoutMarkers)
        {
            if (directory.GetXattrAt(name, marker) is not null)
            {
                return true;
            }
        }

        return false;
    }

    private static (List<Xattr> Xattrs, ContainersOverrideStat? Override) ReadXattrs(FileDescriptor file) =>
        SelectXattrs(file.ListXattrs(), name => file.GetXattr(name));

    private static (List<Xattr> Xattrs, ContainersOverrideStat? Override) ReadXattrs(FileDescriptor directory, byte[] child) =>
        SelectXattrs(directory.ListXattrsAt(child), name => directory.GetXattrAt(child, name));

    private static (List<Xattr> Xattrs, ContainersOverrideStat? Override) SelectXattrs(List<byte[]> names, Func<byte[], byte[]?> read)
    {
        var xattrs = new List<Xattr>();
        ContainersOverrideStat? overridden = null;
        names.Sort(ByteOrder.Instance);
        foreach (var name in names)
        {
            if (ExportedXattrs.NeedsLowerLayers(name))
            {
                throw new InvalidDataException(
                    $"it carries {System.Text.Encoding.UTF8.GetString(name)}: its content lives in a lower layer, so this upper directory cannot be exported on its own (mount overlayfs without redirect_dir and metacopy)");
            }

            if (name.AsSpan().SequenceEqual(ContainersOverrideStat.XattrName) && read(name) is { } stat)
            {
                overridden = ContainersOverrideStat.Parse(stat);
            }
            else if (ExportedXattrs.IsExported(name) && read(name) is { } value)
            {
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
            _ => throw new InvalidDataException($"user.containers.override_stat says '{overridden.Kind}', which this entry cannot stand for"),
        };
    }

    // A symlink kept as a regular file holds its target as content; targets are short, so this is bounded.
    private static byte[] ReadSmallFile(FileDescriptor directory, byte[] name)
    {
        using var file = directory.OpenFileAt(name);
        var status = file.Stat();
        return status.Type == Libc.S_IFREG ? ReadAll(file, status.Size) : throw new LayerChangedException("file was replaced while being read");
    }

    private static byte[] ReadAll(FileDescriptor file, long size)
    {
        if (size > 64 * 1024)
        {
            throw new InvalidDataException($"a symlink target of {size} bytes is not plausible");
        }

        var target = new byte[size];
        for (int read = 0, n; read < target.Length; read += n)
        {
            n = file.ReadAt(target.AsSpan(read), read);
            if (n == 0)
            {
                throw new LayerChangedException("file shrank while being read");
            }
        }

        return target;
    }

    private static LayerEntry Entry(TarEntryHeader header, in FileStatus status) => new(header) { Identity = Identity(status) };

    private static EntryIdentity Identity(in FileStatus status) => new(
        status.Device,
        status.Inode,
        status.NLink,
        (status.CtimeSeconds * 1_000_000_000) + status.CtimeNanoseconds,
        (status.MtimeSeconds * 1_000_000_000) + status.MtimeNanoseconds);

    // OCI whiteouts carry no metadata: mode 0, owner 0, mtime 0, so they never vary between hosts.
    private static TarEntryHeader WhiteoutHeader(byte[] path) => new() { Name = path, Type = TarEntryType.RegularFile };

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

    private sealed class Frame(FileDescriptor directory, byte[] prefix, List<byte[]> children, bool ownsDirectory) : IDisposable
    {
        public FileDescriptor Directory { get; } = directory;

        public byte[] Prefix { get; } = prefix;

        public List<byte[]> Children { get; } = children;

        public int Next { get; set; }

        public void Dispose()
        {
            if (ownsDirectory)
            {
                Directory.Dispose();
            }
        }
    }

    private sealed class FileContent(FileDescriptor file) : IEntryContent
    {
        public int Read(Span<byte> destination, long offset) => file.ReadAt(destination, offset);

        public void Dispose() => file.Dispose();
    }
}
