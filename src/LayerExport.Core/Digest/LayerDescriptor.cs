using LayerExport.Core.Compression;

namespace LayerExport.Core.Digest;

/// <summary>An OCI descriptor of one representation of a layer, plus the layer's diffID.</summary>
/// <param name="MediaType">The representation's OCI media type.</param>
/// <param name="Digest">sha256 of the representation's bytes.</param>
/// <param name="Size">Length of the representation in bytes.</param>
/// <param name="DiffId">sha256 of the uncompressed tar.</param>
public sealed record LayerDescriptor(string MediaType, LayerDigest Digest, long Size, LayerDigest DiffId)
{
    /// <summary>For a gzip body, where each of its blocks lies; with it a byte range of the body can be served.</summary>
    public GzipBlockIndex? GzipIndex { get; init; }

    /// <summary>For a plain tar, its <see cref="Digest.SealedChecksum"/>: with it, a later export of the same layer state is checked without SHA-256.</summary>
    public string? TarCheck { get; init; }

    /// <summary>For a gzip or zstd body, its <see cref="Digest.SealedChecksum"/> with <see cref="Digest"/>: with it, a later export of the same layer state is checked without SHA-256.</summary>
    public string? BodyCheck { get; init; }
}
