using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tar;

namespace LayerExport.Core.TarSplit;

/// <summary>Rebuilds a layer's original tar, byte for byte, from its tar-split record and its unpacked directory.</summary>
/// <remarks>
/// Segments are copied from the record; file content comes from the file the tar path names, opened race-safely
/// under the layer root (see <see cref="LayerFileResolver"/>). A whole export reads the record and its small files
/// ahead on another thread (<see cref="RecordReadAhead"/>) and reads larger files straight into the pipe's memory; a
/// range reads what it needs as it goes. Each file must have exactly the recorded size and CRC-64, else the export
/// fails naming it. Flushes happen once at least <see cref="TarStreamWriter.FlushThreshold"/> bytes are pending and
/// always before more bytes are added, never after the last ones, so the final bytes stay back until the whole tar
/// has been checked against what was announced. Cancellation is checked before every entry and every read of a
/// file the writer reads (see <see cref="FileReadSize"/>). On any failure the caller must abort the transfer, never
/// finish it.
/// </remarks>
public sealed class TarSplitAssembler : IExportProgress
{
    private readonly FileDescriptor _root;

    // Record segments after the last file part written, held until the next file part or the tar's check (HeldTailLimit).
    private readonly Queue<TarSplitEntry> _held = new();
    private long _heldBytes;
    private HashingPipeWriter? _tar;
    private long _windowStart;

    /// <summary>An assembler reading files under <paramref name="layerRoot"/> (not owned; e.g. an overlay2 <c>diff/</c>).</summary>
    internal TarSplitAssembler(FileDescriptor layerRoot) => _root = layerRoot;

    /// <summary>The fingerprint of the layer state whose record is reassembled (its survey's): what a tar written without SHA-256 is held to before its end.</summary>
    /// <remarks>Such a tar is fixed by another check (<see cref="ExpectedTar.CheckedByChecksum"/>, <see cref="ExpectedTar.FixedByBody"/>) that was taken of that state.</remarks>
    internal string? State { get; init; }

    /// <summary>When set, the newest ctime (nanoseconds since the epoch) a file read may have: a newer one fails the export as a change.</summary>
    /// <remarks>A tar written without SHA-256 is held to a check of the state surveyed; a file changed since is not of that state.</remarks>
    internal long? ChangedNoLaterThan { get; init; }

    /// <summary>Tar offset reached so far (bytes written, plus for a range those before it); readable after a failure.</summary>
    /// <remarks>As a generated tar counts, so that the log and the metrics take a range's own bytes alike from both.</remarks>
    public long BytesWritten => _tar is null ? 0 : _windowStart + _tar.Length;

    /// <summary>Tar members written so far (the record's file entries but a PAX global header's); readable after a failure.</summary>
    /// <remarks>Not the record's lines: the log and the metrics count members as tar readers list them, as for a generated tar.</remarks>
    public long EntriesWritten { get; private set; }

    /// <summary>Bytes of record segments after the last file part held back until the tar is checked, at most.</summary>
    /// <remarks>A tar's tail after its last member: GNU tar's and bsdtar's fill their 10 KiB records, Go's writer only has the end blocks.</remarks>
    internal const int HeldTailLimit = 1024 * 1024;

    /// <summary>The path a failure of the record itself (not of a file it names) gives.</summary>
    internal const string RecordPath = "(tar-split record)";

    /// <summary>Zero bytes that complete the last entry: 0 before the first segment or after an entry without content, the padding once a file's last byte is written, else null.</summary>
    /// <remarks>A record's segments hold the headers and the padding together, so entry boundaries are known only there.</remarks>
    public long? PaddingToEntryEnd { get; private set; } = 0;

    /// <summary>True from a file's header to its last byte: inside its entry, where a cut tar fails every reader.</summary>
    /// <remarks>A segment can end inside a header or on an entry's end: after one, this is false, known only when the part after it comes.</remarks>
    public bool EndsInsideEntry { get; private set; }

    /// <summary>The length of the tar <paramref name="record"/> describes (segment lengths plus file sizes), reading no file.</summary>
    /// <exception cref="TarSplitRecordException">The record is malformed, or its sizes overflow.</exception>
    /// <exception cref="LayerStoreCorruptException">The tar the record describes does not end with the end-of-archive blocks: the record is cut short; or it holds a GNU sparse file, which the record cannot rebuild.</exception>
    public static long MeasureTarLength(TarSplitRecord record, CancellationToken cancellationToken) =>
        MeasureTarLength(record, files: null, recordedDiffId: null, recordedLength: null, cancellationToken).Length;

    /// <summary>Like <see cref="MeasureTarLength(TarSplitRecord, CancellationToken)"/>, checking each file with content against <paramref name="files"/>.</summary>
    /// <param name="record">The layer's tar-split record, read once.</param>
    /// <param name="files">What the metadata walk met, or null to check no file.</param>
    /// <param name="recordedDiffId">The tar's digest as the store recorded it: a record is then taken however its tar ends, unless <paramref name="recordedLength"/> says otherwise.</param>
    /// <param name="recordedLength">The tar's length as the store recorded it with its digest: a record that rebuilds another length and no end blocks is cut short.</param>
    /// <param name="cancellationToken">Stops the measure.</param>
    /// <returns>The length, and whether the diffID alone vouches for it (no end blocks, no recorded length): only a whole export checks that.</returns>
    /// <exception cref="LayerStoreCorruptException">Also: a file with content is not on disk as the record says.</exception>
    internal static (long Length, bool VouchedByDiffIdAlone) MeasureTarLength(TarSplitRecord record, RecordedFileCheck? files, LayerDigest? recordedDiffId, long? recordedLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        long length = 0;
        long trailingZeros = 0;
        var headers = new RecordedHeaders();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!record.TryRead(out var entry))
            {
                break;
            }

            length = length <= long.MaxValue - entry.Size
                ? length + entry.Size
                : throw new TarSplitRecordException(entry.LineNumber, "the entries add up to more than 2^63 bytes");
            if (entry.Type == TarSplitEntryType.Segment)
            {
                headers.Read(entry.Bytes.Span);
            }
            else if (entry.Type == TarSplitEntryType.File && headers.Classify(entry) == RecordedMember.ExpandedSparseFile)
            {
                // The whole body would go out before its digest showed it is not the layer's tar.
                throw new LayerStoreCorruptException(
                    $"The tar-split record, line {entry.LineNumber}: {entry.DisplayName} is a GNU sparse file, which tar-split records with "
                    + "its holes filled in: the record cannot rebuild the layer's tar.");
            }

            if (entry.Type != TarSplitEntryType.Segment && entry.Size > 0)
            {
                // A path no export could open is the store's fault, known before any byte is sent.
                List<byte[]> components;
                try
                {
                    components = LayerFileResolver.Clean(entry.Name.Span, entry.DisplayName);
                }
                catch (LayerExportException e)
                {
                    throw new LayerStoreCorruptException($"The tar-split record, line {entry.LineNumber}: {e.Message}");
                }

                files?.Check(entry, components);
            }

            trailingZeros = entry.Type == TarSplitEntryType.Segment ? TrailingZeros(entry.Bytes.Span, trailingZeros)
                : entry.Size == 0 ? trailingZeros
                : 0;
        }

        // A record can be short of its last lines and still be whole gzip (and GZipStream takes a stream without
        // its trailer for whole unless the host turns strict validation on). tar-split records every byte after
        // the last entry, so the tar always ends with the two zero blocks tar writers put there (or more zeros:
        // GNU tar pads to its record size). Go's reader, and so tar-split and the stores, also take a tar that stops
        // after a member or one zero block, and keep bytes after the end blocks. The store's diffID tells such a
        // record from one cut short: every whole export checks it before its last bytes, and a range or descriptor of
        // a reassembled tar waits for one that did; a length recorded with it tells before any byte.
        var vouched = recordedDiffId is not null && (recordedLength is null || length == recordedLength);
        var ended = trailingZeros >= 2 * TarHeaderEncoder.BlockSize;
        return ended || vouched
            ? (length, !ended && recordedLength is null)
            : throw new LayerStoreCorruptException(
                $"The tar-split record describes a tar of {length} bytes that does not end with the two zero blocks "
                + "that end every tar: the record is cut short.");
    }

    /// <summary>Writes the tar <paramref name="record"/> describes into <paramref name="output"/>.</summary>
    /// <param name="record">The layer's tar-split record, read once.</param>
    /// <param name="output">Where the tar goes; it is flushed but not completed.</param>
    /// <param name="expected">What was announced about the tar; a different length or digest fails the export before its last bytes are flushed.</param>
    /// <param name="cancellationToken">Stops the export.</param>
    /// <exception cref="LayerExportException">An entry failed (its tar path is <see cref="LayerExportException.Path"/>), the record is malformed, or the tar is not the one announced.</exception>
    public async Task<TarSplitSummary> WriteAsync(TarSplitRecord record, PipeWriter output, ExpectedTar? expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);

        // A caller that already hashes what it passes on (the export does, for the diffID) is not hashed twice.
        var tar = output as HashingPipeWriter;
        using var owned = tar is null ? tar = new HashingPipeWriter(output) : null;
        _tar = tar;
        var flush = new BatchedFlush(tar);
        var headers = new RecordedHeaders();
        using var files = new RecordedFiles(_root, ChangedNoLaterThan);

        // Segments wait for the file part after them, so that the tar's tail after its last file (the last padding, the
        // end-of-archive blocks, a tar writer's record padding) is written only once the tar is checked: a failed export
        // then ends where a marker can follow. Only so much waits; a longer tail is written as it comes.
        using (var ahead = new RecordReadAhead(record, _root, ChangedNoLaterThan))
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RecordReadAhead.Part? part;
                try
                {
                    part = await ahead.TakeAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (LayerExportException e) when (_held.Count > 0 && e.Path != RecordPath)
                {
                    // A small file read ahead failed: the held segments end with its header, and the body inside its entry.
                    await WriteHeldAsync(0, tar, flush, headers, cancellationToken).ConfigureAwait(false);
                    EndsInsideEntry = true;
                    throw;
                }

                if (part is null)
                {
                    break;
                }

                if (part.Entry.Type == TarSplitEntryType.Segment)
                {
                    _held.Enqueue(part.Entry);
                    _heldBytes += part.Entry.Bytes.Length;
                    await WriteHeldAsync(HeldTailLimit, tar, flush, headers, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await WriteHeldAsync(0, tar, flush, headers, cancellationToken).ConfigureAwait(false);
                using (part)
                {
                    await WriteFilePartAsync(part, files, tar, flush, headers, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        // The last bytes stay back until the record is known to be the one whose tar this was.
        try
        {
            record.ThrowIfChanged();
        }
        catch (Exception e) when (e is LayerChangedException or NativeIOException)
        {
            throw new LayerExportException(RecordPath, e.Message, e);
        }

        if (expected is not null)
        {
            var tail = new byte[_heldBytes];
            var at = 0;
            foreach (var segment in _held)
            {
                segment.Bytes.Span.CopyTo(tail.AsSpan(at));
                at += segment.Bytes.Length;
            }

            await expected.VerifyAsync(tar, tail, walked: State, "reassembled tar", cancellationToken).ConfigureAwait(false);
        }

        await WriteHeldAsync(0, tar, flush, headers, cancellationToken).ConfigureAwait(false);
        await flush.FlushAsync(cancellationToken).ConfigureAwait(false);

        // Every byte has left; a client that hangs up now does not cost the summary its digest.
        return new TarSplitSummary(tar.Length, EntriesWritten, tar.Hashes ? await tar.GetDigestAsync(CancellationToken.None).ConfigureAwait(false) : null);
    }

    /// <summary>Writes the bytes <paramref name="start"/> to <paramref name="end"/> (exclusive) of the tar the record describes.</summary>
    /// <remarks>
    /// Files wholly outside the window are not opened. A file cut by a window edge is checked for its size but
    /// not its CRC, which needs all of it; whole files inside the window are checked as in a full export.
    /// </remarks>
    public async Task WriteRangeAsync(TarSplitRecord record, PipeWriter output, long start, long end, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var tar = new HashingPipeWriter(output);
        _tar = tar;
        _windowStart = start;
        using var files = new RecordedFiles(_root, ChangedNoLaterThan);
        var flush = new BatchedFlush(tar);
        var headers = new RecordedHeaders();
        for (long position = 0; position < end;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!TryRead(record, out var entry))
            {
                break;
            }

            var from = Math.Clamp(start - position, 0, entry.Size);
            var to = Math.Clamp(end - position, 0, entry.Size);
            if (entry.Type == TarSplitEntryType.Segment)
            {
                headers.Read(entry.Bytes.Span);
            }

            if (to > from && entry.Type == TarSplitEntryType.Segment)
            {
                await flush.FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
                tar.Write(entry.Bytes.Span[(int)from..(int)to]);
                flush.Count(to - from);
            }
            else if (to > from)
            {
                try
                {
                    await WriteFileAsync(files, entry, from, to, tar, flush, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException and not LayerExportException)
                {
                    throw new LayerExportException(entry.DisplayName, e.Message, e);
                }
            }

            position += entry.Size;
            if (entry.Type == TarSplitEntryType.File && headers.Classify(entry) != RecordedMember.GlobalHeader)
            {
                EntriesWritten++;
            }
        }

        await flush.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    // Writes the oldest held segments until at most limit bytes are held.
    private async ValueTask WriteHeldAsync(long limit, HashingPipeWriter tar, BatchedFlush flush, RecordedHeaders headers, CancellationToken cancellationToken)
    {
        while (_heldBytes > limit && _held.TryDequeue(out var segment))
        {
            await WriteSegmentAsync(segment, tar, flush, headers, cancellationToken).ConfigureAwait(false);
            _heldBytes -= segment.Bytes.Length;
        }
    }

    private async ValueTask WriteSegmentAsync(TarSplitEntry segment, HashingPipeWriter tar, BatchedFlush flush, RecordedHeaders headers, CancellationToken cancellationToken)
    {
        await flush.FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
        PaddingToEntryEnd = null;
        EndsInsideEntry = false;
        tar.Write(segment.Bytes.Span);
        flush.Count(segment.Size);
        headers.Read(segment.Bytes.Span);
    }

    private async ValueTask WriteFilePartAsync(RecordReadAhead.Part part, RecordedFiles files, HashingPipeWriter tar, BatchedFlush flush, RecordedHeaders headers, CancellationToken cancellationToken)
    {
        var entry = part.Entry;
        if (part.Content is { } content)
        {
            await flush.FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
            EndsInsideEntry = true;
            tar.Write(content.Span);
            flush.Count(content.Length);
            PaddingToEntryEnd = TarHeaderEncoder.PaddedLength(entry.Size) - entry.Size;
            EndsInsideEntry = false;
        }
        else if (entry.Size > 0)
        {
            try
            {
                await WriteFileAsync(files, entry, 0, entry.Size, tar, flush, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException and not LayerExportException)
            {
                throw new LayerExportException(entry.DisplayName, e.Message, e);
            }
        }
        else if (BytesWritten % TarHeaderEncoder.BlockSize == 0)
        {
            // An entry without content ends with its header, on a block boundary (a global header's records do not).
            PaddingToEntryEnd = 0;
        }

        if (headers.Classify(entry) != RecordedMember.GlobalHeader)
        {
            EntriesWritten++;
        }
    }

    private static long TrailingZeros(ReadOnlySpan<byte> segment, long before)
    {
        var last = segment.LastIndexOfAnyExcept((byte)0);
        return last < 0 ? before + segment.Length : segment.Length - last - 1;
    }

    /// <summary>Reads the record's next entry, a malformed line failing the export as the record's.</summary>
    internal static bool TryRead(TarSplitRecord record, [NotNullWhen(true)] out TarSplitEntry? entry)
    {
        try
        {
            return record.TryRead(out entry);
        }
        catch (TarSplitRecordException e)
        {
            throw new LayerExportException(RecordPath, e.Message, e);
        }
    }

    // Writes the file's bytes from..to; the CRC is checked when that is the whole file.
    private async ValueTask WriteFileAsync(RecordedFiles files, TarSplitEntry entry, long from, long to, HashingPipeWriter tar, BatchedFlush flush, CancellationToken cancellationToken)
    {
        var size = entry.Size;
        EndsInsideEntry = true;
        using var file = files.Open(entry);
        var crc = 0UL;
        using var reads = FileReadSize.Begin(to - from);
        for (var offset = from; offset < to;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await flush.FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
            var wanted = (int)Math.Min(to - offset, reads.Chunk);
            var memory = tar.GetMemory(wanted);
            var span = memory.Span[..Math.Min(wanted, memory.Length)];
            var read = file.ReadAt(span, offset);
            if (read == 0)
            {
                throw RecordedFiles.Shrank(entry, offset);
            }

            crc = Crc64Iso.Append(crc, span[..read]);
            tar.Advance(read);
            flush.Count(read);
            offset += read;
        }

        PaddingToEntryEnd = to == size ? TarHeaderEncoder.PaddedLength(size) - size : null;
        EndsInsideEntry = to != size;

        // One byte past the end tells a file that grew; the probe lands in pipe memory that is never advanced.
        if (to == size && file.ReadAt(tar.GetSpan(1)[..1], size) != 0)
        {
            throw RecordedFiles.Grew(entry);
        }

        if (from == 0 && to == size && crc != entry.Checksum)
        {
            throw RecordedFiles.Altered(entry, crc);
        }
    }
}
