namespace TarEncoderComparison;

/// <summary>One entry of the comparison set, with every field as raw bytes or numbers so each writer gets the same input.</summary>
internal sealed record BenchEntry(
    byte[] Name,
    byte Type,
    long Mode,
    long Uid,
    long Gid,
    long ModificationTime,
    byte[] LinkName,
    byte[] Data,
    IReadOnlyList<(byte[] Name, byte[] Value)> Xattrs);
