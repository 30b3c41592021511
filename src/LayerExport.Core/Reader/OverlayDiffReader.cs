using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Reader;

/// <summary>Reads a layer's <c>diff/</c> directory (overlay upper-dir or aufs form) as tar entries, in OCI order.</summary>
/// <remarks>
/// The walk is pre-order with each directory's names in ordinal byte order. Right after a directory's header
/// come its opaque marker and the whiteouts of its deleted children, so an extractor applies deletions before
/// it creates anything below. Deletions on disk are either overlayfs character devices 0:0 or literal
/// <c>.wh.</c> files; both become the same entry, so both forms of a layer export to the same bytes.
/// </remarks>
internal sealed class OverlayDiffReader : DirectoryWalk<OverlayDiffReader.DiffFrame, DirectoryEntry>
{
    private readonly DiskEntryReader _entries;

    /// <summary>Starts a walk of <paramref name="diff"/>; the caller keeps ownership of the descriptor.</summary>
    /// <param name="diff">The layer's diff directory.</param>
    /// <param name="openContent">False for a metadata walk: regular files are described but never opened.</param>
    /// <param name="cancellationToken">Stops the walk, between children and while a directory is listed.</param>
    public OverlayDiffReader(FileDescriptor diff, bool openContent, CancellationToken cancellationToken)
        : base(cancellationToken)
    {
        _entries = new DiskEntryReader(openContent);
        try
        {
            var root = diff.Stat();
            EncryptedDirectory.RequireKey(diff, root);
            Enter(diff, diff.ListXattrs(), root.Device, [], ownsDirectory: false);
        }
        catch (Exception e) when (e is not LayerExportException and not OperationCanceledException)
        {
            throw new LayerExportException("(layer root)", e.Message, e);
        }
    }

    /// <inheritdoc />
    protected override byte[] NameOf(DirectoryEntry child) => child.Name;

    /// <inheritdoc />
    protected override LayerEntry? ReadChild(DiffFrame frame, DirectoryEntry child, byte[] path)
    {
        var entry = _entries.Read(frame.Directory, child, path, frame.Device, out var directory);
        if (directory is { } opened)
        {
            EnterOwned(opened, entry!.Identity!.Device, [.. path, (byte)'/']);
        }

        return entry;
    }

    private void EnterOwned(OpenedDirectory opened, ulong device, byte[] prefix)
    {
        try
        {
            Enter(opened.Descriptor, opened.XattrNames, device, prefix, ownsDirectory: true);
        }
        catch
        {
            opened.Descriptor.Dispose();
            throw;
        }
    }

    // Lists a directory and queues its opaque marker and whiteouts; its other children are read one by one later.
    // The xattr names are the ones its header was made from, so both come from one look at the directory.
    private void Enter(FileDescriptor directory, List<byte[]> xattrNames, ulong device, byte[] prefix, bool ownsDirectory)
    {
        // The layer root is never opaque: overlayfs ignores the mark on the upper root, and a top-level marker
        // would make an extractor delete every parent layer's content.
        var isRoot = prefix.Length == 0;
        var marker = OpaqueMarkerValue(directory, xattrNames);
        var opaque = marker is (byte)'y' && !isRoot;

        // "x" marks a directory that holds xattr whiteouts; only there are zero-size files worth a look.
        var holdsXattrWhiteouts = marker is (byte)'x';
        var deleted = new SortedSet<byte[]>(ByteOrder.Instance);
        var children = new List<DirectoryEntry>();
        foreach (var child in ownsDirectory ? directory.ReadDirectoryOnce() : directory.ReadDirectory())
        {
            Cancellation.ThrowIfCancellationRequested();
            var (name, type, _) = child;
            switch (WhiteoutName.Classify(name, out var deletedName))
            {
                case WhiteoutKind.Opaque:
                    opaque = !isRoot;
                    continue;
                case WhiteoutKind.AufsMetadata:
                    continue;
                // ".wh.." and ".wh..." would delete the directory itself or its parent: extractors empty a whole rootfs.
                case WhiteoutKind.Deletion when deletedName.IsEmpty || deletedName.SequenceEqual("."u8) || deletedName.SequenceEqual(".."u8):
                    throw new LayerExportException(Encoding.UTF8.GetString([.. prefix, .. name]), "a whiteout must name an entry of its directory, not nothing, '.' or '..'");
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

            children.Add(child);
        }

        children.Sort(static (a, b) => ByteOrder.Instance.Compare(a.Name, b.Name));
        if (opaque)
        {
            Pending.Enqueue(DiskEntryReader.Whiteout([.. prefix, .. WhiteoutName.OpaqueMarker]));
        }

        foreach (var name in deleted)
        {
            Pending.Enqueue(DiskEntryReader.Whiteout([.. prefix, .. WhiteoutName.For(name)]));
        }

        Push(new DiffFrame(directory, device, prefix, children, ownsDirectory));
    }

    private static bool IsOverlayWhiteout(in FileStatus status) =>
        status.Type == Libc.S_IFCHR && status.RdevMajor == 0 && status.RdevMinor == 0;

    // The value of the directory's overlay opaque attribute: 'y' (opaque), 'x' (holds xattr whiteouts) or none.
    // Looking in the list first costs no call for the usual directory that has neither attribute.
    private static byte? OpaqueMarkerValue(FileDescriptor directory, List<byte[]> names)
    {
        foreach (var marker in ExportedXattrs.OpaqueMarkers)
        {
            if (names.Exists(name => name.AsSpan().SequenceEqual(marker)) && directory.GetXattr(marker) is [var value])
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

    /// <summary>One directory of the diff entered by the walk, with its device: an entry on another one is a mount point.</summary>
    internal sealed class DiffFrame(FileDescriptor directory, ulong device, byte[] prefix, List<DirectoryEntry> children, bool ownsDirectory)
        : Frame(prefix, children, new ParkedDirectory(directory, ownsDirectory))
    {
        /// <summary>The open directory.</summary>
        public FileDescriptor Directory => Directories[0]!.Descriptor;

        /// <summary>The directory's device.</summary>
        public ulong Device { get; } = device;
    }
}
