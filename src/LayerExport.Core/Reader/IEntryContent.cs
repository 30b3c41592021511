namespace LayerExport.Core.Reader;

/// <summary>Random-access reads of one file's content.</summary>
public interface IEntryContent : IDisposable
{
    /// <summary>Reads at <paramref name="offset"/> into <paramref name="destination"/>; returns 0 at end of file.</summary>
    int Read(Span<byte> destination, long offset);

    /// <summary>True when a read returns fewer bytes than asked only at the end of the content (a regular file on disk).</summary>
    bool ReadsShortOnlyAtEnd => false;

    /// <summary>
    /// Called once the content was read to its end: throws <see cref="LayerChangedException"/> when the file was
    /// deleted, replaced under its name or changed since it was opened, which reads alone cannot see.
    /// </summary>
    void EnsureUnchanged()
    {
    }
}
