using System.IO.Pipelines;
using LayerExport.Core.Digest;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Export;

/// <summary>One export: every entry the reader yields, in order, into a tar stream.</summary>
/// <remarks>
/// Cancellation is checked before every entry and inside every file. Any failure leaves the stream without its
/// end-of-archive blocks; the caller must then abort the transfer, never finish it, so no truncated tar can
/// pass for a complete one. The counters stay readable after a failure, for the log.
/// </remarks>
public sealed class LayerTarExport : IExportProgress
{
    private TarStreamWriter? _tar;

    /// <summary>Tar offset reached so far: bytes written, plus for a byte range the tar bytes before it.</summary>
    public long BytesWritten => _tar?.BytesWritten ?? 0;

    /// <summary>Entries written so far.</summary>
    public long EntriesWritten { get; private set; }

    /// <inheritdoc />
    public long? PaddingToEntryEnd => _tar is null ? 0 : _tar.PaddingToEntryEnd;

    /// <inheritdoc />
    public bool EndsInsideEntry => _tar is not null && _tar.PaddingToEntryEnd is null;

    /// <summary>Writes the whole layer to <paramref name="output"/>; returns what it wrote.</summary>
    /// <param name="reader">The layer's entries.</param>
    /// <param name="output">Where the tar goes.</param>
    /// <param name="beforeEnd">A last check, given the end-of-archive bytes still to come and the fingerprint of every entry written, before those bytes are written; throwing keeps the archive unfinished.</param>
    /// <param name="cancellationToken">Stops the export.</param>
    public Task<WrittenTar> WriteAsync(ILayerEntryReader reader, PipeWriter output, Func<ReadOnlyMemory<byte>, string, CancellationToken, ValueTask>? beforeEnd, CancellationToken cancellationToken) =>
        WriteAsync(reader, new TarStreamWriter(output), announcedLength: null, beforeEnd, cancellationToken);

    /// <summary>Writes the whole layer to <paramref name="output"/> as a tar announced to be <paramref name="announcedLength"/> bytes long, if that is known; returns what it wrote.</summary>
    /// <param name="reader">The layer's entries.</param>
    /// <param name="output">Where the tar goes.</param>
    /// <param name="announcedLength">
    /// The length announced for the tar: an entry that would end past where its end-of-archive blocks begin fails
    /// before its header is written, so that the failure falls between entries with the room the marker needs.
    /// </param>
    /// <param name="beforeEnd">A last check, as for the overload without a length.</param>
    /// <param name="cancellationToken">Stops the export.</param>
    public Task<WrittenTar> WriteAsync(ILayerEntryReader reader, PipeWriter output, long? announcedLength, Func<ReadOnlyMemory<byte>, string, CancellationToken, ValueTask>? beforeEnd, CancellationToken cancellationToken) =>
        WriteAsync(reader, new TarStreamWriter(output), announcedLength, beforeEnd, cancellationToken);

    /// <summary>Writes the tar bytes from <paramref name="start"/> up to (not including) <paramref name="end"/>.</summary>
    public Task<WrittenTar> WriteRangeAsync(ILayerEntryReader reader, PipeWriter output, long start, long end, CancellationToken cancellationToken) =>
        WriteAsync(reader, new TarStreamWriter(output, start, end), announcedLength: null, beforeEnd: null, cancellationToken);

    private async Task<WrittenTar> WriteAsync(ILayerEntryReader reader, TarStreamWriter tar, long? announcedLength, Func<ReadOnlyMemory<byte>, string, CancellationToken, ValueTask>? beforeEnd, CancellationToken cancellationToken)
    {
        // A tar grown by up to the end blocks' 1024 bytes, found only by the length check before them, would fail with
        // less room left than the marker takes, and be aborted: cut wherever the reset cut it, often at an entry's end.
        var entriesEnd = announcedLength - TarHeaderEncoder.EndOfArchive.Length;
        _tar = tar;
        using var fingerprint = new LayerFingerprint();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (tar.WindowFilled || await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is not { } entry)
            {
                break;
            }

            using (entry)
            {
                fingerprint.Append(entry);
                try
                {
                    if (entriesEnd is { } limit && EndsPast(tar.BytesWritten, entry.Header, limit))
                    {
                        throw ExpectedTar.Mismatch(entry.DisplayPath, $"the tar runs past the announced {announcedLength} bytes with this entry");
                    }

                    await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException and not LayerExportException)
                {
                    throw new LayerExportException(entry.DisplayPath, e.Message, e);
                }
            }

            EntriesWritten++;
        }

        var walked = fingerprint.Current;
        await tar.FinishAsync(beforeEnd is null ? null : (toCome, token) => beforeEnd(toCome, walked, token), cancellationToken).ConfigureAwait(false);
        return new WrittenTar(tar.BytesWritten, EntriesWritten, walked, fingerprint.NewestChangeNanoseconds);
    }

    // Whether the entry, written at offset at, would end past limit. Its header is encoded again for its length only
    // within reach of the limit: its PAX records are work the writer does once more.
    private static bool EndsPast(long at, TarEntryHeader header, long limit) =>
        limit - at - TarHeaderEncoder.PaddedLength(header.Size) < TarHeaderEncoder.MaxEncodedLength
        && TarLength.Add(at, TarHeaderEncoder.EntryLength(header)) > limit;
}
