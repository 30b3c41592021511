using LayerExport.Core.Digest;

namespace LayerExport.Core.Export;

/// <summary>What a response already promised about the tar before its body started.</summary>
/// <param name="Length">The announced length of the uncompressed tar, if any.</param>
/// <param name="DiffId">The announced diffID, if any.</param>
public sealed record ExpectedTar(long? Length, LayerDigest? DiffId);
