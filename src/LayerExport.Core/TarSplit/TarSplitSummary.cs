using LayerExport.Core.Digest;

namespace LayerExport.Core.TarSplit;

/// <summary>What reassembling a tar from its tar-split record produced.</summary>
/// <param name="Bytes">Length of the tar.</param>
/// <param name="Entries">Tar entries written (the record's file entries).</param>
/// <param name="DiffId">The sha256 of the tar, or null when another check fixed it and it was not hashed.</param>
public sealed record TarSplitSummary(long Bytes, long Entries, LayerDigest? DiffId);
