using System.IO.Hashing;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tar;

namespace LayerExport.Core.TarSplit;

/// <summary>Checks, before any byte is sent, that each file a tar-split record has content for is a regular file of the recorded size in the unpacked layer.</summary>
/// <remarks>
/// A record naming a file the layer lacks, or has with another size, would fail its export where the file comes, in the
/// middle of the body. The metadata walk before the record is measured meets every regular file of the layer anyway:
/// its sizes by path settle nearly every entry without a system call. A tar made by walking the tree as the metadata
/// walk does (pre-order, each directory's names in byte order: Go's filepath.Walk, which Docker's and containers'
/// archive code use, or GNU tar's --sort=name) names the files in the walk's order, so each entry is settled by the
/// next file the walk met; only a record in another order has the walk's files looked up by path. An entry the walk did not meet at its path with its size (a directory on the way
/// that the tar made a symlink, a file missing, of another size or no regular file) is looked up as the export opens it.
/// Paths are kept as 64-bit hashes, so memory stays small; a collision can only send an entry to that lookup, or leave
/// a missing file to fail the export as before.
/// </remarks>
/// <param name="root">The unpacked layer the record's paths are under (not owned).</param>
internal sealed class RecordedFileCheck(FileDescriptor root)
{
    // The regular files with content the walk met, in its order: their paths and sizes.
    private readonly List<(ulong Path, long Size)> _walked = [];

    // The sizes of files with more than one name, by their first name, and by the later names, which are hard links.
    private readonly Dictionary<ulong, long> _firstNames = [];
    private readonly Dictionary<ulong, long> _links = [];

    // Where each path is in _walked, made when an entry comes out of the walk's order.
    private Dictionary<ulong, int>? _positions;

    // The next of _walked a record in the walk's order names.
    private int _next;

    /// <summary>Notes an entry of the metadata walk: a regular file's size under its path, and under the paths of its hard links.</summary>
    public void Add(LayerEntry entry)
    {
        var header = entry.Header;
        if (header.Type == TarEntryType.RegularFile && header.Size > 0)
        {
            var path = XxHash3.HashToUInt64(header.Name);
            _walked.Add((path, header.Size));
            if (entry.Identity is { LinkCount: > 1 })
            {
                _firstNames[path] = header.Size;
            }
        }
        else if (header.Type == TarEntryType.HardLink && _firstNames.TryGetValue(XxHash3.HashToUInt64(header.LinkName), out var size))
        {
            _links[XxHash3.HashToUInt64(header.Name)] = size;
        }
    }

    /// <summary>Throws unless the export can read <paramref name="entry"/>'s content: a regular file of its size at its path.</summary>
    /// <param name="entry">A file entry of the record, with content.</param>
    /// <param name="components">Its path, cleaned (<see cref="LayerFileResolver.Clean"/>).</param>
    /// <exception cref="LayerStoreCorruptException">The layer's file and the record disagree.</exception>
    public void Check(TarSplitEntry entry, List<byte[]> components)
    {
        if (Walked(Hash(components)) == entry.Size)
        {
            return;
        }

        long onDisk;
        try
        {
            onDisk = LayerFileResolver.Stat(root, components, entry.DisplayName).Size;
        }
        catch (LayerExportException e) when (e.InnerException is not NativeIOException { IsTransient: true })
        {
            throw Disagree(e);
        }

        if (onDisk != entry.Size)
        {
            throw Disagree(new LayerExportException(entry.DisplayName, $"is {onDisk} bytes on disk, the tar-split record says {entry.Size}"));
        }
    }

    // The size of the walk's file at a path: the next one in the walk's order, else the one found by path, or a hard link.
    private long? Walked(ulong path)
    {
        var at = _next < _walked.Count && _walked[_next].Path == path ? _next : Position(path);
        if (at >= 0)
        {
            _next = at + 1;
            return _walked[at].Size;
        }

        return _links.TryGetValue(path, out var size) ? size : null;
    }

    private int Position(ulong path)
    {
        if (_positions is null)
        {
            _positions = new Dictionary<ulong, int>(_walked.Count);
            for (var i = 0; i < _walked.Count; i++)
            {
                // Two paths with one hash: the first stands for both, and a size it does not match is looked up on disk.
                _positions.TryAdd(_walked[i].Path, i);
            }
        }

        return _positions.TryGetValue(path, out var at) ? at : -1;
    }

    private static LayerStoreCorruptException Disagree(LayerExportException failure) =>
        new($"The layer's files and its tar-split record disagree: {failure.Message}.", failure);

    // The hash of the components joined by '/', as the walk names the file.
    private static ulong Hash(List<byte[]> components)
    {
        var length = components.Count - 1;
        foreach (var component in components)
        {
            length += component.Length;
        }

        var joined = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var at = 0;
        foreach (var component in components)
        {
            if (at > 0)
            {
                joined[at++] = (byte)'/';
            }

            component.CopyTo(joined[at..]);
            at += component.Length;
        }

        return XxHash3.HashToUInt64(joined);
    }
}
