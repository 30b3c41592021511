using LayerExport.Core.Tar;

namespace LayerExport.Core.Reader;

/// <summary>One entry of a layer as it goes into the tar: its header and, for a regular file, its open content.</summary>
public sealed class LayerEntry(TarEntryHeader header, IEntryContent? content = null) : IDisposable
{
    /// <summary>The tar header to write.</summary>
    public TarEntryHeader Header { get; } = header;

    /// <summary>The file's content, opened before the header was taken; null for entries without data.</summary>
    public IEntryContent? Content { get; } = content;

    /// <summary>Which file on disk this entry came from, for fingerprints; null for whiteouts.</summary>
    public EntryIdentity? Identity { get; init; }

    /// <summary>The entry path for messages.</summary>
    public string DisplayPath => System.Text.Encoding.UTF8.GetString(Header.Name);

    /// <inheritdoc />
    public void Dispose() => Content?.Dispose();
}
