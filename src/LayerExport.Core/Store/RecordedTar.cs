using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Store;

/// <summary>A layer whose store kept the original tar's framing (tar-split) beside its unpacked files.</summary>
/// <remarks>
/// Docker and containers/storage record a layer's diffID when it is pulled; an image config names it. Only the
/// original bytes match it, so such a layer is exported by reassembly, verified file by file (CRC-64) and as a
/// whole (sha256) against what the store recorded.
/// </remarks>
public sealed class RecordedTar
{
    private readonly Func<TarSplitRecord> _open;

    internal RecordedTar(FileDescriptor files, Func<TarSplitRecord> open, LayerDigest? diffId, long? size = null)
    {
        Files = files;
        _open = open;
        DiffId = diffId;
        Size = size;
    }

    /// <summary>The sha256 of the original tar as the store recorded it, when it did.</summary>
    public LayerDigest? DiffId { get; }

    /// <summary>The length of the original tar as the store recorded it, when it did.</summary>
    public long? Size { get; }

    /// <summary>The unpacked files the record's file entries are read from (not owned).</summary>
    internal FileDescriptor Files { get; }

    /// <summary>Opens the record afresh, at its first entry.</summary>
    public TarSplitRecord OpenRecord() => _open();
}
