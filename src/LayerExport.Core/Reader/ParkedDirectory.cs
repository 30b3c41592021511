using LayerExport.Core.Native;

namespace LayerExport.Core.Reader;

/// <summary>A directory a walk entered that can be closed while the walk is deeper, and opened again on its way back.</summary>
/// <remarks>
/// It is opened again as <c>..</c> of the directory the walk comes back from, and must be the very directory
/// that was closed (device and inode): a directory moved meanwhile is refused, never walked in its place.
/// Moved with its contents, it is the same directory, read as a walk that had kept it open would read it.
/// </remarks>
internal sealed class ParkedDirectory(FileDescriptor descriptor, bool owned) : IDisposable
{
    private FileDescriptor? _descriptor = descriptor;
    private FileStatus _closed;

    /// <summary>The open directory.</summary>
    /// <exception cref="InvalidOperationException">It is closed.</exception>
    public FileDescriptor Descriptor => _descriptor ?? throw new InvalidOperationException("the directory is parked");

    /// <summary>Whether it is closed now.</summary>
    public bool IsParked => _descriptor is null;

    /// <summary>Closes the directory if this walk owns it; false for one its caller owns, which stays open.</summary>
    public bool Park()
    {
        if (!owned)
        {
            return false;
        }

        var open = Descriptor;
        _closed = open.Stat();
        open.Dispose();
        _descriptor = null;
        return true;
    }

    /// <summary>Opens the directory again as the parent of <paramref name="inner"/>.</summary>
    /// <exception cref="LayerChangedException">The parent there now is another directory.</exception>
    public void Resume(FileDescriptor inner)
    {
        var reopened = inner.OpenDirectoryAt(".."u8);
        try
        {
            if (!reopened.Stat().IsSameFile(_closed))
            {
                throw new LayerChangedException("directory was moved while being read");
            }
        }
        catch
        {
            reopened.Dispose();
            throw;
        }

        _descriptor = reopened;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (owned)
        {
            _descriptor?.Dispose();
        }

        _descriptor = null;
    }
}
