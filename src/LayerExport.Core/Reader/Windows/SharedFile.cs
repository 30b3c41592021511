using LayerExport.Core.Native;

namespace LayerExport.Core.Reader.Windows;

/// <summary>One opened backup file read by several entries (a file and its alternate data streams); closed by the last.</summary>
internal sealed class SharedFile(FileDescriptor descriptor) : IDisposable
{
    private int _references = 1;

    /// <summary>The opened file.</summary>
    public FileDescriptor Descriptor { get; } = descriptor;

    /// <summary>Another reference, to be disposed separately.</summary>
    public SharedFile Share()
    {
        Interlocked.Increment(ref _references);
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Descriptor.Dispose();
        }
    }
}
