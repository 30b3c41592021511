using LayerExport.Core.Compression;

namespace LayerExport.Core.Digest;

/// <summary>One cache file's content.</summary>
internal sealed record StoredDescriptor(string MediaType, string Digest, long Size, string DiffId, StoredGzipIndex? GzipIndex = null, string? TarCheck = null, string? BodyCheck = null)
{
    /// <summary>The descriptor, or null when a value could not have been written by this server.</summary>
    /// <remarks>
    /// Well-formed JSON can still hold what no export makes (a damaged file, a hand edit): such a value would reach a
    /// response header or a gzip resume as it is and fail every request of its layer state, so it is only a miss. A plain
    /// tar's digest is its diffID: a download announces the one and is checked against the other, so they must agree.
    /// </remarks>
    public LayerDescriptor? ToDescriptor()
    {
        if (MediaType is not (LayerMediaType.Tar or LayerMediaType.TarGzip or LayerMediaType.TarZstd)
            || !LayerDigest.IsWellFormed(Digest) || !LayerDigest.IsWellFormed(DiffId) || Size <= 0
            || (MediaType == LayerMediaType.Tar && Digest != DiffId)
            || (TarCheck is not null && (MediaType != LayerMediaType.Tar || !SealedChecksum.IsWellFormed(TarCheck)))
            || (BodyCheck is not null && (MediaType == LayerMediaType.Tar || !SealedChecksum.IsWellFormed(BodyCheck))))
        {
            return null;
        }

        var index = GzipIndex?.ToIndex();
        if (GzipIndex is not null && (index is null || index.Size != Size || (GzipIndex.Checksum is { } checksum && checksum != index.Checksum())))
        {
            return null;
        }

        // An index an older server kept has no checksum, and a damaged trailer in it would leave in a range unnoticed:
        // the entry still gives the digest, and the next complete compression keeps a checked index.
        return new LayerDescriptor(MediaType, new LayerDigest(Digest), Size, new LayerDigest(DiffId))
        {
            GzipIndex = GzipIndex?.Checksum is null ? null : index,
            TarCheck = TarCheck,
            BodyCheck = BodyCheck,
        };
    }
}
