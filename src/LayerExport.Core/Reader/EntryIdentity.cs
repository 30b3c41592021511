using LayerExport.Core.Native;

namespace LayerExport.Core.Reader;

/// <summary>What identifies the on-disk file behind an entry and changes whenever the file does.</summary>
/// <param name="Device">Device number.</param>
/// <param name="Inode">Inode number.</param>
/// <param name="LinkCount">Number of hard links.</param>
/// <param name="ChangeTimeNanoseconds">ctime in nanoseconds since the epoch.</param>
/// <param name="ModificationTimeNanoseconds">mtime in nanoseconds since the epoch.</param>
public sealed record EntryIdentity(ulong Device, ulong Inode, uint LinkCount, long ChangeTimeNanoseconds, long ModificationTimeNanoseconds)
{
    /// <summary>The identity of the file <paramref name="status"/> describes.</summary>
    internal static EntryIdentity Of(in FileStatus status) => new(
        status.Device,
        status.Inode,
        status.NLink,
        status.ChangeTimeNanoseconds,
        (status.MtimeSeconds * 1_000_000_000) + status.MtimeNanoseconds);
}
