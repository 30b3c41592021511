using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>Which directory (device and inode) a store's root path named when the store was opened.</summary>
/// <remarks>
/// A store keeps the directory it opened; a directory moved to the same path later is not what it serves.
/// Comparing the path's identity now with this one tells that the root was replaced.
/// </remarks>
/// <param name="Device">The directory's device number.</param>
/// <param name="Inode">The directory's inode number.</param>
public sealed record StoreRootIdentity(ulong Device, ulong Inode)
{
    /// <summary>The identity of the directory <paramref name="path"/> names now (symbolic links followed).</summary>
    /// <exception cref="IOException">The path names no directory that can be opened.</exception>
    public static StoreRootIdentity Of(string path)
    {
        using var directory = FileDescriptor.OpenDirectory(path);
        var status = directory.Stat();
        return new StoreRootIdentity(status.Device, status.Inode);
    }
}
