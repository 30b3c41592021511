namespace LayerExport.Core.Reader;

/// <summary>Remembers the first path written for each multiply-linked file, so later names become hard links to it.</summary>
/// <remarks>Links always point at the first name, never at another link: extractors need the target to exist already.</remarks>
public sealed class HardLinkTracker
{
    private readonly Dictionary<(ulong Device, ulong Inode), byte[]> _firstPaths = [];

    /// <summary>The first path written for this file, if any.</summary>
    public bool TryGetFirstPath(ulong device, ulong inode, out byte[] firstPath) =>
        _firstPaths.TryGetValue((device, inode), out firstPath!);

    /// <summary>Records <paramref name="path"/> as the first name of this file.</summary>
    public void Remember(ulong device, ulong inode, byte[] path) => _firstPaths.TryAdd((device, inode), path);
}
