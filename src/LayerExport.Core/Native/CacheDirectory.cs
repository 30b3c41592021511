namespace LayerExport.Core.Native;

/// <summary>A cache's directory: private (<see cref="PrivateDirectory"/>), and used only on the file system it was on when first opened.</summary>
/// <remarks>
/// A cache kept on a disk of its own that is unmounted while the server runs would otherwise be made again beneath the
/// mount point, on the file system there, and fill it with what was meant for the other: once the directory is found
/// on another file system (another device), it is not used until a restart, as a directory made unsafe is not.
/// </remarks>
internal sealed class CacheDirectory
{
    private readonly ulong _device;

    /// <summary>Opens (creating what is missing) the directory at <paramref name="path"/> now, and remembers its file system.</summary>
    /// <exception cref="UnsafeDirectoryException">Another user could change the directory or one above it.</exception>
    public CacheDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        using var opened = PrivateDirectory.OpenOrCreate(Path);
        _device = opened.Stat().Device;
    }

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <summary>The directory opened again, which the caller disposes.</summary>
    /// <exception cref="UnsafeDirectoryException">It may be changed by another user now, or is on another file system than at start.</exception>
    public FileDescriptor Open()
    {
        var opened = PrivateDirectory.OpenOrCreate(Path);
        try
        {
            if (opened.Stat().Device != _device)
            {
                throw new UnsafeDirectoryException($"'{Path}' is no longer on the file system it was on at start (was that unmounted?): not used until a restart.");
            }
        }
        catch
        {
            opened.Dispose();
            throw;
        }

        return opened;
    }
}
