using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.TarSplit;

/// <summary>Opens the files a tar-split record has content for, one thread's worth, and names each way one can differ from the record.</summary>
/// <remarks>
/// Each file is found as <see cref="LayerFileResolver"/> finds it. The layer root's status is taken once, and the
/// directory of the last file is kept open while the next files are in it too (a tar lists a directory's files
/// together), as a walk keeps a directory open while it reads its files: a directory moved within the layer meanwhile
/// is still read as the one resolved. Whichever thread reads a file, its failure reads the same: the file's tar path,
/// and a <see cref="LayerChangedException"/> saying what changed. Not thread-safe.
/// </remarks>
/// <param name="root">The unpacked layer (not owned).</param>
/// <param name="changedNoLaterThan">When set, the newest ctime (nanoseconds since the epoch) a file opened may have.</param>
internal sealed class RecordedFiles(FileDescriptor root, long? changedNoLaterThan) : IDisposable
{
    private FileStatus? _rootStatus;
    private FileDescriptor? _directory;

    // The cleaned path of the last file opened under _directory: its components but the last name the directory.
    private List<byte[]> _directoryOf = [];

    /// <summary>Opens the file <paramref name="entry"/> names, refusing one whose size is not the record's or whose ctime is past the bound.</summary>
    /// <param name="entry">A file entry of the record, with content.</param>
    /// <exception cref="LayerExportException">The file cannot be opened safely, or is not as the record and the survey say.</exception>
    public FileDescriptor Open(TarSplitEntry entry)
    {
        var components = LayerFileResolver.Clean(entry.Name.Span, entry.DisplayName);
        var (file, status) = LayerFileResolver.OpenIn(_rootStatus ??= root.Stat(), DirectoryOf(components, entry.DisplayName), components[^1], entry.DisplayName);
        try
        {
            if (status.Size != entry.Size)
            {
                throw Changed(entry, $"is {status.Size} bytes on disk, the tar-split record says {entry.Size}");
            }

            if (changedNoLaterThan is { } newest && status.ChangeTimeNanoseconds > newest)
            {
                throw Changed(entry, "changed since the layer was surveyed (its ctime is newer than any the survey met)");
            }

            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The file ended at <paramref name="offset"/>, before the record's size.</summary>
    public static LayerExportException Shrank(TarSplitEntry entry, long offset) =>
        Changed(entry, $"shrank to {offset} bytes while being read; the tar-split record says {entry.Size}");

    /// <summary>The file has a byte past the record's size.</summary>
    public static LayerExportException Grew(TarSplitEntry entry) =>
        Changed(entry, $"grew past the {entry.Size} bytes the tar-split record says while being read");

    /// <summary>The file's bytes, of the record's size, have another CRC-64 than the record's.</summary>
    public static LayerExportException Altered(TarSplitEntry entry, ulong crc) =>
        Changed(entry, $"content does not match the tar-split record's checksum (CRC-64 {crc:x16}, recorded {entry.Checksum:x16}): the layer on disk was altered");

    /// <inheritdoc />
    public void Dispose() => Forget();

    private static LayerExportException Changed(TarSplitEntry entry, string reason) =>
        new(entry.DisplayName, reason, new LayerChangedException($"{entry.DisplayName}: {reason}"));

    // The directory that holds the file: the one kept from the last file when it is the same path.
    private FileDescriptor DirectoryOf(List<byte[]> components, string displayPath)
    {
        if (components.Count == 1)
        {
            return root;
        }

        if (_directory is not null && SameDirectory(components, _directoryOf))
        {
            return _directory;
        }

        Forget();
        _directory = LayerFileResolver.OpenParent(root, components, displayPath);
        _directoryOf = components;
        return _directory;
    }

    private void Forget()
    {
        _directory?.Dispose();
        _directory = null;
    }

    private static bool SameDirectory(List<byte[]> a, List<byte[]> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count - 1; i++)
        {
            if (!a[i].AsSpan().SequenceEqual(b[i]))
            {
                return false;
            }
        }

        return true;
    }
}
