using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Reader.Windows;

/// <summary>Walks a Windows layer directory and yields the tar entries hcsshim's <c>ExportLayerToTar</c> writes for it.</summary>
/// <remarks>
/// <para>
/// The walk is Go's <c>filepath.Walk</c>: pre-order, each directory's names in ordinal byte order, nothing followed
/// through a symlink. Names are the paths below the layer directory, '/'-separated, without a trailing '/'.
/// A transport directory (a layer with parents) yields everything but <c>tombstones.txt</c> and the store's
/// <c>layerchain.json</c>; right after each directory come the whiteouts <c>tombstones.txt</c> lists for it.
/// A base layer yields <c>Files</c> and its tree, then <c>UtilityVM</c>, <c>UtilityVM/Files</c> and its tree.
/// Names ending in <c>.$wcidirs$</c> and <c>Files/$Recycle.Bin</c> are never yielded.
/// </para>
/// <para>
/// Entries below <c>Files/</c> of a transport directory, and every entry of a base layer, are stored encoded: the
/// file (for a directory, its <c>&lt;name&gt;.$wcidirs$</c> twin) holds the 4-byte little-endian Win32 attributes,
/// then the Win32 backup stream. Times come from that file: LastWriteTime = mtime, LastAccessTime = atime (read
/// with O_NOATIME so exporting never moves it), CreationTime = ChangeTime = LastWriteTime (Linux cannot carry
/// the other two). Everything else of a transport directory (<c>Files</c> and <c>Hives</c> themselves, the hives,
/// <c>UtilityVM/</c>) is plain: a directory has attributes DIRECTORY, a file ARCHIVE and its bytes as the data
/// stream, and all four times are the mtime, except <c>Files</c> and <c>Hives</c>, which take
/// <c>Hives/System_Delta</c>'s, as hcsshim does.
/// </para>
/// </remarks>
internal sealed class WindowsLayerReader : DirectoryWalk<WindowsLayerReader.WindowsFrame, byte[]>
{
    private const uint DirectoryAttribute = 0x10;
    private const uint ArchiveAttribute = 0x20;
    private const long DirectoryModeBits = 0x4000;
    private const long RegularFileModeBits = 0x8000;
    private const long HardLinkMode = 0x1a4;
    private const int AttributesLength = 4;

    private readonly FileDescriptor _layer;
    private readonly FileStatus _root;
    private readonly WindowsLayerKind _kind;
    private readonly TombstoneList _tombstones;
    private readonly bool _openContent;
    private readonly HardLinkTracker _links = new();
    private long? _systemDeltaTicks;

    /// <summary>Starts a walk of <paramref name="layer"/>; the caller keeps ownership of the descriptor.</summary>
    /// <param name="layer">The layer directory.</param>
    /// <param name="kind">Base layer or transport directory.</param>
    /// <param name="tombstones">The transport directory's deletions; empty for a base layer.</param>
    /// <param name="openContent">False for a metadata walk: entries carry no content (backup streams are still parsed).</param>
    /// <param name="cancellationToken">Stops the walk between children: one read may pass over many that yield nothing.</param>
    public WindowsLayerReader(FileDescriptor layer, WindowsLayerKind kind, TombstoneList tombstones, bool openContent, CancellationToken cancellationToken)
        : base(cancellationToken)
    {
        _layer = layer;
        _kind = kind;
        _tombstones = tombstones;
        _openContent = openContent;
        try
        {
            _root = layer.Stat();
            EncryptedDirectory.RequireKey(layer, _root);
            Push(new WindowsFrame(layer, [], RootChildren(), ownsDirectory: false));
        }
        catch (Exception e) when (e is not LayerExportException and not OperationCanceledException)
        {
            throw new LayerExportException("(layer root)", e.Message, e);
        }
    }

    /// <inheritdoc />
    protected override byte[] NameOf(byte[] child) => child;

    /// <inheritdoc />
    protected override LayerEntry? ReadChild(WindowsFrame frame, byte[] child, byte[] path) =>
        ReadChild(frame.Directory, child, [.. frame.Components, child], path);

    // Transport: every top-level name but the deletions list and the store's chain file. Base: Files, then
    // UtilityVM only when it has Files (hcsshim ignores a UtilityVM without it).
    private List<byte[]> RootChildren()
    {
        if (_kind == WindowsLayerKind.Transport)
        {
            return SortedNames(_layer, static name => !name.SequenceEqual(WindowsNames.Tombstones) && !name.SequenceEqual(WindowsNames.LayerChain));
        }

        List<byte[]> children = [WindowsNames.Files.ToArray()];
        if (HasUtilityVmFiles())
        {
            children.Add(WindowsNames.UtilityVM.ToArray());
        }

        return children;
    }

    private bool HasUtilityVmFiles()
    {
        FileStatus status;
        try
        {
            status = _layer.StatAt(WindowsNames.UtilityVM);
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return false;
        }

        if (status.Type != Libc.S_IFDIR)
        {
            return status.Type == Libc.S_IFLNK ? throw new InvalidDataException("UtilityVM is a symbolic link; refused") : false;
        }

        using var utilityVm = _layer.OpenDirectoryAt(WindowsNames.UtilityVM);
        try
        {
            // Without its key, Files would not be found there, and a base layer would go without its UtilityVM.
            EncryptedDirectory.RequireKey(utilityVm, status);
        }
        catch (IOException e)
        {
            throw new LayerExportException("UtilityVM", e.Message, e);
        }

        try
        {
            utilityVm.StatAt(WindowsNames.Files);
            return true;
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return false;
        }
    }

    private LayerEntry? ReadChild(FileDescriptor directory, byte[] name, List<byte[]> components, byte[] path)
    {
        var listed = directory.StatAt(name);
        DiskEntryReader.CheckOnMountOf(listed, _root);
        var isDirectory = listed.Type == Libc.S_IFDIR;
        if (isDirectory && components.Count == 2
            && WindowsNames.FoldEquals(components[0], WindowsNames.Files) && WindowsNames.FoldEquals(name, "$Recycle.Bin"u8))
        {
            return null;
        }

        if (name.AsSpan().EndsWith(WindowsNames.DirectoryTwinSuffix))
        {
            // Never an entry, but Go's walk still enters a directory so named.
            if (isDirectory)
            {
                Enter(directory, name, listed, components);
            }

            return null;
        }

        if (listed.Type is not (Libc.S_IFDIR or Libc.S_IFREG))
        {
            throw new InvalidDataException($"is a {TypeName(listed.Type)}; a Windows layer directory holds only files and directories");
        }

        if (name.AsSpan().IndexOfAny((byte)'\\', (byte)':') >= 0)
        {
            throw new InvalidDataException("a Windows file name cannot hold '\\' or ':'");
        }

        var encoded = _kind == WindowsLayerKind.Base || (components.Count >= 2 && components[0].AsSpan().SequenceEqual(WindowsNames.Files));
        var entry = encoded ? ReadEncoded(directory, name, path, listed, isDirectory) : ReadPlain(directory, name, components, path, listed);
        try
        {
            if (isDirectory)
            {
                foreach (var deleted in _tombstones.For(path))
                {
                    Pending.Enqueue(new LayerEntry(new TarEntryHeader { Name = [.. path, (byte)'/', .. WindowsNames.WhiteoutPrefix, .. deleted], Type = TarEntryType.RegularFile }));
                }

                Enter(directory, name, listed, components);
            }

            return entry;
        }
        catch
        {
            entry.Dispose();
            throw;
        }
    }

    private void Enter(FileDescriptor parent, byte[] name, in FileStatus listed, List<byte[]> components)
    {
        var directory = parent.OpenDirectoryAt(name);
        try
        {
            if (!directory.Stat().IsSameFile(listed))
            {
                throw new LayerChangedException("directory was replaced while being read");
            }

            EncryptedDirectory.RequireKey(directory, listed);

            // In a base layer only UtilityVM/Files is exported from UtilityVM.
            var onlyFiles = _kind == WindowsLayerKind.Base && components.Count == 1 && components[0].AsSpan().SequenceEqual(WindowsNames.UtilityVM);
            var children = SortedNames(directory, onlyFiles ? static n => n.SequenceEqual(WindowsNames.Files) : static _ => true);
            Push(new WindowsFrame(directory, components, children, ownsDirectory: true));
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    // An entry stored as attributes + backup stream: the file itself, or a directory's .$wcidirs$ twin.
    private LayerEntry ReadEncoded(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed, bool isDirectory)
    {
        byte[] backingName = isDirectory ? [.. name, .. WindowsNames.DirectoryTwinSuffix] : name;
        FileDescriptor? opened;
        try
        {
            // A directory's twin was not listed yet (its name sorts after the directory's tree): looked at before it is
            // opened, a device or FIFO there is not opened, and one on another mount is refused before it is read.
            opened = isDirectory ? directory.OpenRegularFileAt(backingName, out _, keepAccessTime: true) : directory.OpenFileKeepingAccessTimeAt(backingName);
        }
        catch (NativeIOException e) when (isDirectory && e.IsNotFound)
        {
            throw new InvalidDataException($"the directory has no {Encoding.UTF8.GetString(backingName)} twin holding its metadata", e);
        }

        if (opened is null)
        {
            throw new InvalidDataException($"{Encoding.UTF8.GetString(backingName)} is not a regular file");
        }

        using var file = new SharedFile(opened);
        var status = opened.Stat();
        if (status.Type != Libc.S_IFREG)
        {
            throw new InvalidDataException($"{Encoding.UTF8.GetString(backingName)} is not a regular file");
        }

        DiskEntryReader.CheckOnMountOf(status, _root);
        if (!isDirectory && !status.IsSameFile(listed))
        {
            throw new LayerChangedException("file was replaced while being read");
        }

        if (status.Size < AttributesLength)
        {
            throw new InvalidDataException($"truncated: {status.Size} bytes hold no 4-byte attributes");
        }

        Span<byte> attributeBytes = stackalloc byte[AttributesLength];
        BackupStreamParser.ReadExactly(opened, attributeBytes, 0);
        var attributes = BinaryPrimitives.ReadUInt32LittleEndian(attributeBytes);
        var lastWrite = WindowsFileTime.FromUnix(status.MtimeSeconds, status.MtimeNanoseconds);
        var times = new EntryTimes(lastWrite, WindowsFileTime.FromUnix(status.AtimeSeconds, status.AtimeNanoseconds), lastWrite, lastWrite);
        var identity = EntryIdentity.Of(status);
        if (LinkTarget(status, path) is { } firstPath)
        {
            return new LayerEntry(HardLinkHeader(path, attributes, times, firstPath)) { Identity = identity };
        }

        var twoPass = _kind == WindowsLayerKind.Transport;
        var streams = BackupStreamParser.Parse(opened, AttributesLength, status.Size, twoPass);
        var content = BackupStreamInterpreter.Read(opened, streams, twoPass, isDirectory);
        var header = MainHeader(path, attributes, times, content);
        if (header.Type != TarEntryType.RegularFile && content.ContentLength > 0)
        {
            throw new InvalidDataException($"{content.ContentLength} bytes of data for an entry of tar type '{(char)header.Type}', which carries none");
        }

        var main = new LayerEntry(header, ContentOf(file, content.Content, content.ContentLength, status)) { Identity = identity };
        try
        {
            foreach (var stream in content.AlternateStreams)
            {
                var streamHeader = new TarEntryHeader
                {
                    Name = [.. path, .. stream.Suffix],
                    Type = TarEntryType.RegularFile,
                    Mode = header.Mode,
                    Size = stream.Size,
                    ModificationTime = header.ModificationTime,
                    ModificationTimeNanoseconds = header.ModificationTimeNanoseconds,
                    AccessTime = header.AccessTime,
                    ChangeTime = header.ChangeTime,
                };
                Pending.Enqueue(new LayerEntry(streamHeader, ContentOf(file, [new ContentSegment(stream.Size, stream.FileOffset)], stream.Size, status)) { Identity = identity });
            }
        }
        catch
        {
            main.Dispose();
            throw;
        }

        return main;
    }

    // An entry outside Files/ of a transport directory: no stored metadata, the file's bytes are its data stream.
    private LayerEntry ReadPlain(FileDescriptor directory, byte[] name, List<byte[]> components, byte[] path, FileStatus status)
    {
        var isDirectory = status.Type == Libc.S_IFDIR;
        SharedFile? file = null;
        if (!isDirectory && _openContent)
        {
            file = new SharedFile(directory.OpenFileAt(name));
        }
        else if (!isDirectory)
        {
            // The export opens it: a refusal is found here, before the body. Its xattrs are not listed, so the kernel
            // is asked for every plain file, an ACL that refuses alone included: one faccessat2, measured cheaper than
            // listing the xattrs to skip it (listxattrat, a system call as well).
            ReadPermission.Require(directory, name, status, mayCarryAccessAcl: true);
        }

        using (file)
        {
            if (file is not null)
            {
                var opened = file.Descriptor.Stat();
                if (opened.Type != Libc.S_IFREG || !opened.IsSameFile(status))
                {
                    throw new LayerChangedException("file was replaced while being read");
                }

                status = opened;
            }

            var takesSystemDeltaTimes = components.Count == 1 && (name.AsSpan().SequenceEqual(WindowsNames.Files) || name.AsSpan().SequenceEqual(WindowsNames.Hives));
            var lastWrite = takesSystemDeltaTimes ? SystemDeltaTicks() : WindowsFileTime.FromUnix(status.MtimeSeconds, status.MtimeNanoseconds);
            var times = new EntryTimes(lastWrite, lastWrite, lastWrite, lastWrite);
            var attributes = isDirectory ? DirectoryAttribute : ArchiveAttribute;
            var identity = EntryIdentity.Of(status);
            if (!isDirectory && LinkTarget(status, path) is { } firstPath)
            {
                return new LayerEntry(HardLinkHeader(path, attributes, times, firstPath)) { Identity = identity };
            }

            var size = isDirectory ? 0 : status.Size;
            var content = new BackupStreamContent { Size = size, ModeBits = size > 0 ? RegularFileModeBits : 0 };
            if (size > 0)
            {
                content.Content.Add(new ContentSegment(size, 0));
            }

            // An empty file gets its content too: the writer's look past its end and at its status tells one written to since its open.
            return new LayerEntry(MainHeader(path, attributes, times, content), file is null ? null : new SegmentedContent(file.Share(), content.Content, status)) { Identity = identity };
        }
    }

    private SegmentedContent? ContentOf(SharedFile file, IReadOnlyList<ContentSegment> segments, long length, in FileStatus opened) =>
        _openContent && length > 0 ? new SegmentedContent(file.Share(), segments, opened) : null;

    // The seed keys hard links on the file ID; here (device, inode). Links point at the first name, never chained.
    private byte[]? LinkTarget(in FileStatus status, byte[] path)
    {
        if (status.NLink <= 1)
        {
            return null;
        }

        if (_links.TryGetFirstPath(status.Device, status.Inode, out var firstPath))
        {
            return firstPath;
        }

        _links.Remember(status.Device, status.Inode, path);
        return null;
    }

    private long SystemDeltaTicks()
    {
        if (_systemDeltaTicks is { } ticks)
        {
            return ticks;
        }

        FileStatus status;
        try
        {
            using var hives = _layer.OpenDirectoryAt(WindowsNames.Hives);
            status = hives.StatAt(WindowsNames.SystemDelta);
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            throw new InvalidDataException("Hives/System_Delta is missing; Files and Hives take their times from it", e);
        }

        if (status.Type != Libc.S_IFREG)
        {
            throw new InvalidDataException("Hives/System_Delta is not a regular file");
        }

        _systemDeltaTicks = WindowsFileTime.FromUnix(status.MtimeSeconds, status.MtimeNanoseconds);
        return _systemDeltaTicks.Value;
    }

    private static TarEntryHeader MainHeader(byte[] path, uint attributes, EntryTimes times, BackupStreamContent content)
    {
        var isDirectory = (attributes & DirectoryAttribute) != 0;
        var records = BasicRecords(attributes, times);
        if (content.IsMountPoint)
        {
            records.Add(new PaxRecord("MSWINDOWS.mountpoint"u8.ToArray(), "1"u8.ToArray()));
        }

        if (content.SecurityDescriptor is { } securityDescriptor)
        {
            records.Add(new PaxRecord("MSWINDOWS.rawsd"u8.ToArray(), Base64(securityDescriptor)));
        }

        foreach (var (name, value) in content.ExtendedAttributes.Values)
        {
            records.Add(new PaxRecord([.. "MSWINDOWS.xattr."u8, .. name], Base64(value)));
        }

        return WithTimes(
            new TarEntryHeader
            {
                Name = path,
                Type = content.IsReparsePoint ? TarEntryType.SymbolicLink : isDirectory ? TarEntryType.Directory : TarEntryType.RegularFile,
                Mode = (isDirectory ? DirectoryModeBits : 0) | content.ModeBits,
                Size = isDirectory ? 0 : content.Size,
                LinkName = content.IsReparsePoint ? content.LinkName : [],
                PaxRecords = records,
            },
            times);
    }

    // The seed's rule for a later name of a file: basic information only, mode 0644, no streams read.
    private static TarEntryHeader HardLinkHeader(byte[] path, uint attributes, EntryTimes times, byte[] firstPath) => WithTimes(
        new TarEntryHeader
        {
            Name = path,
            Type = TarEntryType.HardLink,
            Mode = HardLinkMode,
            LinkName = firstPath,
            PaxRecords = BasicRecords(attributes, times),
        },
        times);

    private static List<PaxRecord> BasicRecords(uint attributes, EntryTimes times) =>
    [
        new("MSWINDOWS.fileattr"u8.ToArray(), Encoding.ASCII.GetBytes(attributes.ToString(CultureInfo.InvariantCulture))),
        new("LIBARCHIVE.creationtime"u8.ToArray(), WindowsFileTime.ToPaxTime(times.Creation).Format()),
    ];

    private static TarEntryHeader WithTimes(TarEntryHeader header, EntryTimes times)
    {
        var lastWrite = WindowsFileTime.ToPaxTime(times.LastWrite);
        return header with
        {
            ModificationTime = lastWrite.Seconds,
            ModificationTimeNanoseconds = lastWrite.Nanoseconds,
            AccessTime = WindowsFileTime.ToPaxTime(times.LastAccess),
            ChangeTime = WindowsFileTime.ToPaxTime(times.Change),
        };
    }

    private static byte[] Base64(byte[] value) => Encoding.ASCII.GetBytes(Convert.ToBase64String(value));

    private static List<byte[]> SortedNames(FileDescriptor directory, Func<byte[], bool> include)
    {
        var names = directory.ReadDirectory().Select(static e => e.Name).Where(include).ToList();
        names.Sort(ByteOrder.Instance);
        return names;
    }

    private static byte[] Join(List<byte[]> components)
    {
        var length = components.Sum(static c => c.Length) + components.Count - 1;
        var joined = new byte[length];
        var at = 0;
        foreach (var component in components)
        {
            if (at > 0)
            {
                joined[at++] = (byte)'/';
            }

            component.CopyTo(joined, at);
            at += component.Length;
        }

        return joined;
    }

    private static string TypeName(int type) => type switch
    {
        Libc.S_IFLNK => "symbolic link",
        Libc.S_IFCHR => "character device",
        Libc.S_IFBLK => "block device",
        Libc.S_IFIFO => "named pipe",
        Libc.S_IFSOCK => "socket",
        _ => $"file of type {type:x}",
    };

    /// <summary>The four FILETIMEs of an entry.</summary>
    private readonly record struct EntryTimes(long LastWrite, long LastAccess, long Creation, long Change);

    /// <summary>One directory of the layer entered by the walk, with its path's components as the layer names them.</summary>
    internal sealed class WindowsFrame(FileDescriptor directory, List<byte[]> components, List<byte[]> children, bool ownsDirectory)
        : Frame(components.Count == 0 ? [] : [.. Join(components), (byte)'/'], children, new ParkedDirectory(directory, ownsDirectory))
    {
        /// <summary>The open directory.</summary>
        public FileDescriptor Directory => Directories[0]!.Descriptor;

        /// <summary>The directory's path below the layer, one component each.</summary>
        public List<byte[]> Components { get; } = components;
    }
}
