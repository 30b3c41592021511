namespace LayerExport.Core.Reader.Windows;

/// <summary>A piece of an entry's content: bytes of the backup file, or zeros for a hole of a sparse file.</summary>
/// <param name="Length">Bytes the piece adds to the content.</param>
/// <param name="FileOffset">Where its bytes lie in the backup file; -1 for zeros.</param>
internal readonly record struct ContentSegment(long Length, long FileOffset)
{
    /// <summary>A hole of <paramref name="length"/> zero bytes.</summary>
    public static ContentSegment Zeros(long length) => new(length, -1);

    /// <summary>True for a hole.</summary>
    public bool IsZeros => FileOffset < 0;
}
