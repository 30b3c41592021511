using LayerExport.Core.Compression;
using LayerExport.Core.Digest;

namespace LayerExport.Core.Export;

/// <summary>What one finished export wrote.</summary>
/// <param name="Bytes">Bytes of uncompressed tar.</param>
/// <param name="Entries">Tar entries written.</param>
/// <param name="DiffId">sha256 of the uncompressed tar: the layer's diffID.</param>
/// <param name="Digest">sha256 of the bytes sent (the tar itself when uncompressed).</param>
/// <param name="Size">Bytes sent.</param>
/// <param name="Fingerprint">The <see cref="LayerFingerprint"/> of the entries as they were exported.</param>
public sealed record ExportSummary(long Bytes, long Entries, LayerDigest DiffId, LayerDigest Digest, long Size, string Fingerprint)
{
    /// <summary>For gzip, where each block of the body lies: what a byte range of it needs.</summary>
    public GzipBlockIndex? GzipIndex { get; init; }

    /// <summary>The tar's <see cref="Digest.SealedChecksum"/>, sealed with <see cref="DiffId"/>.</summary>
    public string? TarCheck { get; init; }

    /// <summary>A compressed body's <see cref="Digest.SealedChecksum"/>, sealed with <see cref="Digest"/>.</summary>
    public string? BodyCheck { get; init; }

    /// <summary>How long the entries read had been unchanged (their newest ctime) when the pass that read them began.</summary>
    /// <remarks>
    /// A file written again within its ctime's tick keeps that ctime, and so the fingerprint: what was read of a state
    /// this young may not be what it holds now. The most there is when the bytes are held to a record as they are read.
    /// </remarks>
    public TimeSpan UnchangedFor { get; init; } = TimeSpan.MaxValue;
}
