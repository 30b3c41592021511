using System.Buffers;
using LayerExport.Core.Native;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Reader;

/// <summary>Reads the difference between a full root file system and its parent's as tar entries, in OCI order.</summary>
/// <remarks>
/// Both trees are walked together, one directory pair at a time, names in ordinal byte order. A name only in
/// the child is added with everything below it; a name only in the parent becomes an explicit whiteout right
/// after its directory (never an opaque marker, as the OCI spec prefers); a name in both is emitted when its
/// type, mode, owner, mtime (to the nanosecond), size, link count, target, device numbers or exported xattrs
/// differ. Like containerd's double walk, a regular file whose mtime has no sub-second part cannot be trusted
/// to have changed its mtime with its content, so equal-looking files are then compared byte by byte.
/// Memory is one listing per open directory level, whatever the size of the trees.
/// </remarks>
internal sealed class TreeDiffReader : DirectoryWalk<TreeDiffReader.PairFrame, (byte[] Name, bool InParent)>
{
    private const int CompareChunk = 64 * 1024;

    private readonly DiskEntryReader _entries;
    private readonly FileStatus _root;
    private readonly FileStatus _parentRoot;

    /// <summary>Starts a walk of <paramref name="tree"/> against <paramref name="parentTree"/>; the caller keeps both descriptors.</summary>
    /// <param name="tree">The layer's full root file system.</param>
    /// <param name="parentTree">The parent layer's full root file system, or null for a base layer (everything is added).</param>
    /// <param name="openContent">False for a metadata walk: emitted regular files are described but not opened.</param>
    /// <param name="cancellationToken">Stops the walk, between children and during a comparison of two files' bytes.</param>
    public TreeDiffReader(FileDescriptor tree, FileDescriptor? parentTree, bool openContent, CancellationToken cancellationToken)
        : base(cancellationToken)
    {
        _entries = new DiskEntryReader(openContent);
        try
        {
            _root = tree.Stat();
            EncryptedDirectory.RequireKey(tree, _root);
            if (parentTree is not null)
            {
                _parentRoot = parentTree.Stat();
                EncryptedDirectory.RequireKey(parentTree, _parentRoot);
            }

            Enter(tree, parentTree, [], ownsDirectories: false);
        }
        catch (Exception e) when (e is not LayerExportException and not OperationCanceledException)
        {
            throw new LayerExportException("(layer root)", e.Message, e);
        }
    }

    /// <inheritdoc />
    protected override byte[] NameOf((byte[] Name, bool InParent) child) => child.Name;

    /// <inheritdoc />
    protected override LayerEntry? ReadChild(PairFrame frame, (byte[] Name, bool InParent) child, byte[] path)
    {
        var (name, inParent) = child;
        var listed = frame.Directory.StatAt(name);
        DiskEntryReader.CheckOnMountOf(listed, _root);
        if (!inParent || frame.Parent is null)
        {
            return Added(frame.Directory, name, path, listed);
        }

        // The parent's tree is read to compare, listed and opened: a mount in it is no more the parent's than one in
        // the layer is the layer's.
        var parentListed = frame.Parent.StatAt(name);
        DiskEntryReader.CheckOnMountOf(parentListed, _parentRoot);
        if (listed.Type != parentListed.Type)
        {
            // A changed type replaces the parent's entry whole; extractors remove what was there first.
            return Added(frame.Directory, name, path, listed);
        }

        if (listed.Type == Libc.S_IFDIR)
        {
            return ChangedDirectory(frame, name, path, listed, parentListed);
        }

        return Unchanged(frame.Directory, frame.Parent, name, path, listed, parentListed, Cancellation) ? null : Emitted(frame.Directory, name, path, listed, out _);
    }

    private LayerEntry? Added(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed)
    {
        var entry = Emitted(directory, name, path, listed, out var opened);
        if (opened is not null)
        {
            EnterOwned(opened, null, [.. path, (byte)'/']);
        }

        return entry;
    }

    // Walks into a directory both trees hold; its own header is emitted only when its metadata differs.
    private LayerEntry? ChangedDirectory(PairFrame frame, byte[] name, byte[] path, in FileStatus listed, in FileStatus parentListed)
    {
        var entry = Emitted(frame.Directory, name, path, listed, out var opened);
        var parentHeader = DiskEntryReader.Describe(frame.Parent!, name, path, parentListed)!;
        FileDescriptor? parentDirectory = null;
        try
        {
            parentDirectory = DiskEntryReader.OpenDirectory(frame.Parent!, name, parentListed);
            EncryptedDirectory.RequireKey(parentDirectory, parentListed);
            Enter(opened!, parentDirectory, [.. path, (byte)'/'], ownsDirectories: true);
        }
        catch
        {
            opened!.Dispose();
            parentDirectory?.Dispose();
            entry?.Dispose();
            throw;
        }

        if (entry is not null && SameHeader(entry.Header, parentHeader) && listed.MtimeNanoseconds == parentListed.MtimeNanoseconds)
        {
            entry.Dispose();
            return null;
        }

        return entry;
    }

    private LayerEntry? Emitted(FileDescriptor directory, byte[] name, byte[] path, in FileStatus listed, out FileDescriptor? opened)
    {
        RefuseWhiteoutLookalike(name);
        return _entries.Read(directory, name, path, listed, out opened);
    }

    private static bool Unchanged(FileDescriptor directory, FileDescriptor parent, byte[] name, byte[] path, in FileStatus listed, in FileStatus parentListed, CancellationToken cancellationToken)
    {
        if (listed.IsSameFile(parentListed))
        {
            return true;
        }

        var regular = listed.Type == Libc.S_IFREG;
        if (listed.MtimeNanoseconds != parentListed.MtimeNanoseconds || (regular && listed.NLink != parentListed.NLink))
        {
            return false;
        }

        var header = DiskEntryReader.Describe(directory, name, path, listed);
        var parentHeader = DiskEntryReader.Describe(parent, name, path, parentListed);
        if (header is null || parentHeader is null)
        {
            return header is null && parentHeader is null;
        }

        if (!SameHeader(header, parentHeader))
        {
            return false;
        }

        return !regular || listed.MtimeNanoseconds != 0 || listed.Size == 0 || SameContent(directory, parent, name, listed, parentListed, cancellationToken);
    }

    private static bool SameHeader(TarEntryHeader a, TarEntryHeader b)
    {
        if (a.Type != b.Type || a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Size != b.Size
            || a.ModificationTime != b.ModificationTime || a.DeviceMajor != b.DeviceMajor || a.DeviceMinor != b.DeviceMinor
            || !a.LinkName.AsSpan().SequenceEqual(b.LinkName) || a.Xattrs.Count != b.Xattrs.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Xattrs.Count; i++)
        {
            if (!a.Xattrs[i].Name.AsSpan().SequenceEqual(b.Xattrs[i].Name) || !a.Xattrs[i].Value.AsSpan().SequenceEqual(b.Xattrs[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    // Two copies of a large file take long to compare: a cancellation is looked at between chunks.
    private static bool SameContent(FileDescriptor directory, FileDescriptor parent, byte[] name, in FileStatus listed, in FileStatus parentListed, CancellationToken cancellationToken)
    {
        using var file = OpenListedFile(directory, name, listed);
        using var parentFile = OpenListedFile(parent, name, parentListed);
        var buffer = ArrayPool<byte>.Shared.Rent(2 * CompareChunk);
        try
        {
            var mine = buffer.AsSpan(0, CompareChunk);
            var theirs = buffer.AsSpan(CompareChunk, CompareChunk);
            for (long offset = 0; ; offset += CompareChunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = ReadFully(file, mine, offset);
                if (n != ReadFully(parentFile, theirs, offset) || !mine[..n].SequenceEqual(theirs[..n]))
                {
                    return false;
                }

                if (n < CompareChunk)
                {
                    return true;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static FileDescriptor OpenListedFile(FileDescriptor directory, byte[] name, in FileStatus listed)
    {
        var file = DiskEntryReader.OpenListedFile(directory, name);
        var opened = file.Stat();
        if (opened.Type != Libc.S_IFREG || !opened.IsSameFile(listed))
        {
            file.Dispose();
            throw new LayerChangedException("file was replaced while being read");
        }

        return file;
    }

    private static int ReadFully(FileDescriptor file, Span<byte> destination, long offset)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var n = file.ReadAt(destination[total..], offset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    // A full tree can hold any name, but in a layer ".wh." means a deletion: emitting one would delete, not add.
    private static void RefuseWhiteoutLookalike(ReadOnlySpan<byte> name)
    {
        if (name.StartsWith(WhiteoutName.Prefix))
        {
            throw new InvalidDataException("a name starting with .wh. cannot travel in an OCI layer: extractors would take it for a deletion");
        }
    }

    private void EnterOwned(FileDescriptor directory, FileDescriptor? parent, byte[] prefix)
    {
        try
        {
            Enter(directory, parent, prefix, ownsDirectories: true);
        }
        catch
        {
            directory.Dispose();
            parent?.Dispose();
            throw;
        }
    }

    // Lists a directory pair, queues whiteouts for what only the parent holds, and pushes the rest for reading.
    private void Enter(FileDescriptor directory, FileDescriptor? parent, byte[] prefix, bool ownsDirectories)
    {
        var names = SortedNames(directory, ownsDirectories);
        var parentNames = parent is null ? [] : SortedNames(parent, ownsDirectories);
        var children = new List<(byte[] Name, bool InParent)>(names.Count);
        int i = 0, j = 0;
        while (i < names.Count || j < parentNames.Count)
        {
            var order = i == names.Count ? 1 : j == parentNames.Count ? -1 : ByteOrder.Instance.Compare(names[i], parentNames[j]);
            if (order < 0)
            {
                children.Add((names[i++], false));
            }
            else if (order == 0)
            {
                children.Add((names[i++], true));
                j++;
            }
            else
            {
                var deleted = parentNames[j++];
                RefuseWhiteoutLookalike(deleted);
                Pending.Enqueue(DiskEntryReader.Whiteout([.. prefix, .. WhiteoutName.For(deleted)]));
            }
        }

        Push(new PairFrame(directory, parent, prefix, children, ownsDirectories));
    }

    // Directories this walk opened itself are listed through their own descriptor; shared ones through a fresh one.
    private static List<byte[]> SortedNames(FileDescriptor directory, bool owned)
    {
        var names = (owned ? directory.ReadDirectoryOnce() : directory.ReadDirectory()).ConvertAll(static child => child.Name);
        names.Sort(ByteOrder.Instance);
        return names;
    }

    /// <summary>One directory entered in the layer's tree, with the same directory in its parent's tree when that has one.</summary>
    internal sealed class PairFrame(FileDescriptor directory, FileDescriptor? parent, byte[] prefix, List<(byte[] Name, bool InParent)> children, bool ownsDirectories)
        : Frame(prefix, children, new ParkedDirectory(directory, ownsDirectories), parent is null ? null : new ParkedDirectory(parent, ownsDirectories))
    {
        /// <summary>The open directory in the layer's tree.</summary>
        public FileDescriptor Directory => Directories[0]!.Descriptor;

        /// <summary>The open directory of the same path in the parent's tree; null when the parent has none.</summary>
        public FileDescriptor? Parent => Directories[1]?.Descriptor;
    }
}
