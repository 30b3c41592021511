using LayerExport.Core.Digest;

namespace LayerExport.Core.Export;

/// <summary>What one pass wrote of a layer's tar.</summary>
/// <param name="Bytes">Tar offset reached: bytes written, plus for a byte range the tar bytes before it.</param>
/// <param name="Entries">Entries written.</param>
/// <param name="Fingerprint">The <see cref="LayerFingerprint"/> of the entries as they were read.</param>
/// <param name="NewestChangeNanoseconds">The newest ctime among them (<see cref="LayerFingerprint.NewestChangeNanoseconds"/>).</param>
public readonly record struct WrittenTar(long Bytes, long Entries, string Fingerprint, long NewestChangeNanoseconds);
