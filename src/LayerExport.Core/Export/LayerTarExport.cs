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
        WriteAsync(reader, new TarStreamWriter(output), beforeEnd, cancellationToken);

    /// <summary>Writes the tar bytes from <paramref name="start"/> up to (not including) <paramref name="end"/>.</summary>
    public Task<WrittenTar> WriteRangeAsync(ILayerEntryReader reader, PipeWriter output, long start, long end, CancellationToken cancellationToken) =>
        WriteAsync(reader, new TarStreamWriter(output, start, end), beforeEnd: null, cancellationToken);

    private async Task<WrittenTar> WriteAsync(ILayerEntryReader reader, TarStreamWriter tar, Func<ReadOnlyMemory<byte>, string, CancellationToken, ValueTask>? beforeEnd, CancellationToken cancellationToken)
    {
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
}
