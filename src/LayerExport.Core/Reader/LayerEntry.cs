using LayerExport.Core.Native;
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
        (status.CtimeSeconds * 1_000_000_000) + status.CtimeNanoseconds,
        (status.MtimeSeconds * 1_000_000_000) + status.MtimeNanoseconds);
}

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

/// <summary>Yields a layer's entries in tar order.</summary>
public interface ILayerEntryReader : IDisposable
{
    /// <summary>Moves to the next entry; false at the end. The caller disposes each entry.</summary>
    bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LayerEntry? entry);

    /// <summary>The next entry, or null at the end; a reader that works ahead waits here without blocking a thread.</summary>
    ValueTask<LayerEntry?> ReadAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(TryRead(out var entry) ? entry : null);
}
