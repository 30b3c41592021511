using LayerExport.Core.Compression;

namespace LayerExport.Core.Digest;

/// <summary>A gzip body's block index as a cache file keeps it.</summary>
/// <remarks>
/// A resume sends the trailer's CRC-32 as kept, and each block it makes again only meets its kept length: the
/// checksum over every field (<see cref="GzipBlockIndex.Checksum"/>) is what finds any of them damaged on disk
/// before a range leaves with it.
/// </remarks>
internal sealed record StoredGzipIndex(int BlockSize, int[] CompressedLengths, uint Crc32, long TarLength, string? Checksum = null)
{
    /// <summary>The index as a cache file keeps it, with its checksum.</summary>
    public static StoredGzipIndex Of(GzipBlockIndex index) =>
        new(index.BlockSize, [.. index.CompressedLengths], index.Crc32, index.TarLength, index.Checksum());

    /// <summary>The index, or null when its lengths do not describe blocks of its tar.</summary>
    public GzipBlockIndex? ToIndex() =>
        BlockSize >= BlockGzipStream.MinBlockSize && TarLength > 0 && CompressedLengths is { } lengths
            && lengths.Length == TarLength / BlockSize + 1 && lengths.All(static length => length > 0)
            ? new GzipBlockIndex(BlockSize, lengths, Crc32, TarLength)
            : null;
}
