using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using LayerExport.Core.Blobs;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Export;

/// <summary>A validated, opened layer waiting to be written as a tar stream in one representation.</summary>
/// <remarks>
/// One pass produces everything: the tar is hashed as it is written (the diffID), compressed when asked, and
/// the bytes sent are hashed again (the blob digest). Nothing is finished on failure: no end-of-archive blocks,
/// no gzip trailer, no zstd epilogue. A layer whose store kept its original tar's record is reassembled from it,
/// byte for byte; any other layer's tar is generated from its files.
/// </remarks>
public sealed class PreparedExport(LayerDescription layer, ILayerContent content, CompressionOptions compressionOptions) : IDisposable
{
    private readonly LayerTarExport _generated = new();
    private TarSplitAssembler? _reassembled;
    private LayerSurvey? _survey;

    /// <summary>The layer being exported.</summary>
    public LayerDescription Layer { get; } = layer;

    /// <summary>Progress of the running export, readable after it fails.</summary>
    public IExportProgress Progress => (IExportProgress?)_reassembled ?? _generated;

    /// <summary>Writes the layer as an uncompressed tar into <paramref name="output"/>.</summary>
    public Task<ExportSummary> WriteTarAsync(PipeWriter output, CancellationToken cancellationToken) =>
        WriteAsync(LayerCompression.None, output, expected: null, cancellationToken);

    /// <summary>Writes the layer as <paramref name="compression"/> into <paramref name="output"/>.</summary>
    /// <param name="compression">The representation.</param>
    /// <param name="output">Where its bytes go.</param>
    /// <param name="expected">
    /// What was already announced about the tar (its length, its diffID, the compressed body's size); when the tar
    /// turns out different, the export fails before its last bytes leave, so a client never gets a complete body that
    /// contradicts a header.
    /// </param>
    /// <param name="cancellationToken">Stops the export.</param>
    public Task<ExportSummary> WriteAsync(LayerCompression compression, PipeWriter output, ExpectedTar? expected, CancellationToken cancellationToken) =>
        WriteAsync(compression, output, expected, copy: null, cancellationToken);

    /// <summary>Writes the layer as <paramref name="compression"/> into <paramref name="output"/>, a compressed body also into <paramref name="copy"/>.</summary>
    /// <param name="compression">The representation.</param>
    /// <param name="output">Where its bytes go.</param>
    /// <param name="expected">What was already announced about the tar, as for the overload without a copy.</param>
    /// <param name="copy">Where the compressed body's bytes are copied as they leave, to be kept under its digest; null for none.</param>
    /// <param name="cancellationToken">Stops the export.</param>
    public async Task<ExportSummary> WriteAsync(LayerCompression compression, PipeWriter output, ExpectedTar? expected, BlobCopy? copy, CancellationToken cancellationToken)
    {
        if (content.Recorded is { } recorded)
        {
            // The store's own diffID is always checked, whatever the caller announced.
            expected = (expected ?? new ExpectedTar(null, null)) with { DiffId = expected?.DiffId ?? recorded.DiffId };
        }

        if (compression == LayerCompression.None)
        {
            var announced = AnnouncedLengthWriter.AroundTar(output, expected);

            // SHA-256 is most of a plain download's CPU; a layer state exported before has a check that costs far less.
            var checkedDiffId = UnhashedDiffId(expected, expected?.CheckedByChecksum == true, cancellationToken);
            using var tar = new HashingPipeWriter(announced, hashes: checkedDiffId is null);
            var written = await WriteTarAsync(tar, expected, cancellationToken).ConfigureAwait(false);
            await AnnouncedLengthWriter.ReleaseAsync(announced, cancellationToken).ConfigureAwait(false);

            // Every byte has left: a client that has them all may hang up now, yet the digest, at most a few blocks
            // behind, is still worth recording for the next request.
            var diffId = checkedDiffId ?? await tar.GetDigestAsync(CancellationToken.None).ConfigureAwait(false);
            return new ExportSummary(written.Bytes, written.Entries, diffId, diffId, tar.Length, written.Fingerprint)
            {
                UnchangedFor = written.UnchangedFor,
                TarCheck = SealedChecksum.Seal(diffId, tar.GetChecksum([])),
            };
        }

        var announcedBody = AnnouncedLengthWriter.AroundBody(output, expected);
        await using var body = announcedBody.AsStream(leaveOpen: true);
        await using var copied = copy is null ? null : new BlobCopyStream(body, copy);
        var summary = await WriteCompressedAsync(compression, (Stream?)copied ?? body, expected, cancellationToken).ConfigureAwait(false);
        expected?.VerifyBody(summary.Digest);
        await AnnouncedLengthWriter.ReleaseAsync(announcedBody, cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>Writes bytes <paramref name="start"/> to <paramref name="end"/> (exclusive) of the compressed body <paramref name="known"/> describes, by compressing the whole tar again.</summary>
    /// <param name="compression">The representation: gzip or zstd.</param>
    /// <param name="output">Where the bytes go.</param>
    /// <param name="known">The body's descriptor, from a complete export of the same layer state.</param>
    /// <param name="expected">What was announced about the tar.</param>
    /// <param name="start">First body byte.</param>
    /// <param name="end">Body byte after the last one; at most the body's size.</param>
    /// <param name="cancellationToken">Stops the export.</param>
    /// <remarks>
    /// A zstd frame cannot be restarted part-way, so the body is made from its start and cut; the range's last
    /// byte leaves only once the whole body has come out with the descriptor's digest and size.
    /// </remarks>
    /// <exception cref="InvalidDataException">The body no longer has the descriptor's digest: the layer changed.</exception>
    public async Task WriteCompressedRangeAsync(LayerCompression compression, PipeWriter output, LayerDescriptor known, ExpectedTar expected, long start, long end, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(known);
        ArgumentOutOfRangeException.ThrowIfEqual(compression, LayerCompression.None);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, known.Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(start, end);
        await using var body = new BatchedPipeStream(output);
        var window = new WindowStream(body, start, end - start, holdLastByte: true);
        var made = await WriteCompressedAsync(compression, window, expected, cancellationToken).ConfigureAwait(false);
        if (made.Digest != known.Digest || made.Size != known.Size)
        {
            throw new InvalidDataException($"the layer now makes a {made.Size}-byte body with digest {made.Digest}, not the {known.Size}-byte body with digest {known.Digest} the range is of");
        }

        await window.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        await body.FlushAllAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<ExportSummary> WriteCompressedAsync(LayerCompression compression, Stream body, ExpectedTar? expected, CancellationToken cancellationToken)
    {
        // SHA-256 is a sixth of a zstd export's CPU; a body exported before has a kept check that costs far less.
        await using var sent = new HashingStream(body, hashes: expected?.BodyCheckedByChecksum != true);
        await using var stage = CompressionStage.Create(compression, sent, compressionOptions);
        var compressorInput = PipeWriter.Create(stage.Input, new StreamPipeWriterOptions(leaveOpen: true));
        var announcedTar = AnnouncedLengthWriter.AroundTar(compressorInput, expected);
        // Hashing the tar costs up to a sixth of a compressed export's CPU; a body whose digest is checked needs none.
        var fixedDiffId = UnhashedDiffId(expected, expected?.FixedByBody == true, cancellationToken);
        using (var tar = new HashingPipeWriter(announcedTar, hashes: fixedDiffId is null))
        {
            var written = await WriteTarAsync(tar, expected, cancellationToken).ConfigureAwait(false);
            await AnnouncedLengthWriter.ReleaseAsync(announcedTar, cancellationToken).ConfigureAwait(false);
            await compressorInput.CompleteAsync().ConfigureAwait(false);
            await stage.FinishAsync(cancellationToken).ConfigureAwait(false);
            var diffId = fixedDiffId ?? await tar.GetDigestAsync(CancellationToken.None).ConfigureAwait(false);
            var digest = sent.Hashes ? sent.CurrentDigest : expected!.VerifyBodyChecksum(sent.Checksum);
            return new ExportSummary(written.Bytes, written.Entries, diffId, digest, sent.BytesWritten, written.Fingerprint)
            {
                GzipIndex = stage.GzipIndex,
                UnchangedFor = written.UnchangedFor,
                TarCheck = SealedChecksum.Seal(diffId, tar.GetChecksum([])),
                BodyCheck = SealedChecksum.Seal(digest, sent.Checksum),
            };
        }
    }

    // The announced diffID when another check fixes the tar (fixedOtherwise) and its SHA-256 need not be taken, else
    // null. A reassembled tar is held to its store's diffID: only a check taken under that one, of the state this export
    // reads, stands in for it. An announcement made from a survey the export did not take as its own may be of a state
    // gone since, whose tar (files and record unchanged, a ctime moved) the store's diffID still vouches for.
    private LayerDigest? UnhashedDiffId(ExpectedTar? expected, bool fixedOtherwise, CancellationToken cancellationToken) =>
        fixedOtherwise && expected?.DiffId is { } announced
            && (content.Recorded is not { } recorded || (recorded.DiffId == announced && (_survey ?? Survey(cancellationToken)).Fingerprint == expected.StateFingerprint))
            ? announced
            : null;

    /// <summary>Writes the plain tar's bytes <paramref name="start"/> to <paramref name="end"/> (exclusive), reading no file that lies wholly outside them.</summary>
    /// <remarks>
    /// A range is of the layer state its validator names, the one surveyed before it, and a file may change before it is
    /// opened: no digest of the whole tar can catch that here. So the range's last byte leaves only once a second
    /// metadata walk finds that same state (a change moves a file's ctime), else the range ends one byte short, or,
    /// smaller than a batch of <see cref="BatchedPipeStream"/>, fails before any byte of it leaves.
    /// </remarks>
    /// <exception cref="LayerChangedException">The layer is no longer in the state surveyed before the range.</exception>
    public async Task WriteTarRangeAsync(PipeWriter output, long start, long end, CancellationToken cancellationToken)
    {
        var surveyed = (_survey ?? Survey(cancellationToken)).Fingerprint;
        await using var body = new BatchedPipeStream(output);
        var window = new WindowStream(body, 0, end - start, holdLastByte: true);
        var tar = PipeWriter.Create(window, new StreamPipeWriterOptions(leaveOpen: true));
        await WriteTarBytesAsync(tar, start, end, cancellationToken).ConfigureAwait(false);
        await tar.CompleteAsync().ConfigureAwait(false);
        if (TakeSurvey(cancellationToken).Fingerprint != surveyed)
        {
            throw new LayerChangedException("the layer changed while the range was made: its files are no longer those of the state the range was asked of");
        }

        await window.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        await body.FlushAllAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteTarBytesAsync(PipeWriter output, long start, long end, CancellationToken cancellationToken)
    {
        if (content.Recorded is { } recorded)
        {
            using var record = recorded.OpenRecord();
            record.Expect(_survey?.RecordDigest ?? throw new InvalidOperationException("a recorded layer's survey measures its record"));
            _reassembled = new TarSplitAssembler(recorded.Files);
            await _reassembled.WriteRangeAsync(record, output, start, end, cancellationToken).ConfigureAwait(false);

            // The range must come from the record surveyed, all of it: an edit made and undone while the range was made
            // leaves nothing for the walk after it to see.
            while (record.TryRead(out _))
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            record.ThrowIfChanged();
            return;
        }

        using var reader = content.CreateReader(cancellationToken);
        await _generated.WriteRangeAsync(reader, output, start, end, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes bytes <paramref name="start"/> to <paramref name="end"/> (exclusive) of the gzip body <paramref name="index"/> describes, compressing only the blocks that hold them.</summary>
    /// <exception cref="InvalidDataException">The layer no longer makes the indexed body.</exception>
    public async Task WriteGzipRangeAsync(PipeWriter output, GzipBlockIndex index, long start, long end, CancellationToken cancellationToken)
    {
        await using var body = new BatchedPipeStream(output);
        await GzipRange.WriteAsync(body, index, compressionOptions, start, end, WriteTarRangeAsync, cancellationToken).ConfigureAwait(false);
        await body.FlushAllAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes <paramref name="survey"/>, taken by an earlier request, as this export's own when it may stand for it: it announces the diffID the store records now.</summary>
    /// <returns>Whether it was taken; if not, the export surveys the layer itself.</returns>
    /// <remarks>
    /// The export checks a tar against the diffID announced; one the store no longer records must not be announced or
    /// checked. A reassembled tar is then made from the very record that survey measured, each file held to its recorded
    /// size and CRC-64, so it is the tar of that layer state byte for byte and the layer is not walked again.
    /// </remarks>
    public bool TryAssume(LayerSurvey survey)
    {
        ArgumentNullException.ThrowIfNull(survey);
        if (survey.RecordedDiffId != content.Recorded?.DiffId || (content.Recorded is not null && survey.RecordDigest is null))
        {
            return false;
        }

        _survey = survey;
        return true;
    }

    /// <summary>Walks the layer's metadata: exact tar size and fingerprint, no file read.</summary>
    /// <exception cref="LayerChangedException">The tar-split record could not be read, and a second look found the layer or the record moved.</exception>
    public LayerSurvey Survey(CancellationToken cancellationToken)
    {
        string? seen = null;
        try
        {
            return _survey = TakeSurvey(ref seen, cancellationToken);
        }
        // A record read while it is rewritten in place stops parsing, or rebuilds a tar cut short, just as a broken
        // one does; only a second look tells the change a retry gets past from the store's fault.
        catch (Exception e) when (seen is not null && e is TarSplitRecordException or LayerStoreCorruptException or NativeIOException { IsNotFound: true })
        {
            if (Moved(seen, cancellationToken))
            {
                throw new LayerChangedException($"the layer changed while it was surveyed: {e.Message}");
            }

            throw;
        }
    }

    private LayerSurvey TakeSurvey(CancellationToken cancellationToken)
    {
        string? seen = null;
        return TakeSurvey(ref seen, cancellationToken);
    }

    // seen: what the survey saw, as far as it got: the fingerprint once it is whole, else the walk's and the record's
    // bytes as read (null until the walk is).
    private LayerSurvey TakeSurvey(ref string? seen, CancellationToken cancellationToken)
    {
        using var reader = content.CreateMetadataReader(cancellationToken);

        // The walk meets every file a record may have content for: the record's files are checked against what it saw.
        var files = content.Recorded is { } toCheck ? new RecordedFileCheck(toCheck.Files) : null;
        var walked = LayerSurvey.Take(reader, files is null ? null : files.Add, cancellationToken);
        if (content.Recorded is not { } recorded)
        {
            seen = walked.Fingerprint;
            return walked;
        }

        seen = $"{walked.Fingerprint}\nno record";
        LayerDigest measured;
        long length;
        bool vouchedByDiffIdAlone;
        using (var opened = recorded.OpenRecord())
        {
            try
            {
                (length, vouchedByDiffIdAlone) = TarSplitAssembler.MeasureTarLength(opened, files, recorded.DiffId, recorded.Size, cancellationToken);
                measured = opened.ReadDigest();
            }
            finally
            {
                seen = $"{walked.Fingerprint}\n{opened.BytesReadDigest}";
            }
        }

        // tar-split rebuilds some tars longer than they were (GNU sparse files come back expanded): never announce or
        // serve such a length, or a range of it, under the recorded diffID. Without a diffID the store's size is no
        // promise (partial pulls of containers/storage before 1.56 recorded the sum of the file sizes there).
        if (recorded.DiffId is not null && recorded.Size is { } recordedSize && recordedSize != length)
        {
            throw new LayerStoreCorruptException(
                $"The tar-split record rebuilds a tar of {length} bytes where the store records {recordedSize}: the record cannot "
                + "rebuild the layer's tar (tar-split expands GNU sparse files, for one).");
        }

        // The reassembled tar depends on the record as much as on the files: both go into the fingerprint, the record
        // by its content (an edit that keeps the tar's length is another state; a chmod of the record is not).
        var fingerprint = seen = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"recorded\n{recorded.DiffId}\n{length}\n{measured}\n{walked.Fingerprint}")));
        return new LayerSurvey(length, walked.Entries, fingerprint) { RecordedDiffId = recorded.DiffId, LengthVouchedByDiffIdAlone = vouchedByDiffIdAlone, RecordDigest = measured, NewestChangeNanoseconds = walked.NewestChangeNanoseconds };
    }

    // A file that differs from its record (size, CRC-64, missing), or a tar that is not the recorded one, looks like
    // a change, but when the layer is still in the state surveyed before it was read, nothing changed: the store's
    // files and record disagree, and every retry would fail the same way. Only a walk after the failure can tell.
    // A tar not held by its SHA-256 to the store's own diffID (unhashed, or announced under another diffID from a kept
    // descriptor) was held to what was kept for the state: when that fails on an unchanged layer, the kept descriptor
    // is what is wrong, and the caller forgets it.
    private LayerExportException Judge(LayerExportException failure, string surveyed, bool heldToStoresDiffId, CancellationToken cancellationToken)
    {
        if (Moved(surveyed, cancellationToken))
        {
            return Changed(failure);
        }

        if (!heldToStoresDiffId && failure.InnerException is TarMismatchException)
        {
            return failure;
        }

        if (failure.InnerException is TarSplitRecordException)
        {
            return failure;
        }

        return failure.InnerException is TarMismatchException mismatch
            ? new LayerExportException(
                failure.Path,
                "the layer's files and its tar-split record do not rebuild the recorded tar, and the layer is not changing",
                new LayerStoreCorruptException($"The layer's files and its tar-split record do not rebuild the tar the store records (the layer is not changing): {mismatch.Message}.", failure))
            : new LayerExportException(
                failure.Path,
                "the file and the tar-split record disagree, and the layer is not changing",
                new LayerStoreCorruptException($"The layer's files and its tar-split record disagree (the layer is not changing): {failure.Message}.", failure));
    }

    // Whether a second look at the layer sees other than seen (a survey's fingerprint, or what a failed one saw); a
    // look that fails where the first did not has seen a change too.
    private bool Moved(string seen, CancellationToken cancellationToken)
    {
        string? again = null;
        try
        {
            TakeSurvey(ref again, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // What it saw before it failed is the answer.
        }

        return again != seen;
    }

    // A tar that is not the recorded one, or a record that stopped parsing (rewritten in place as it was read), says
    // nothing of why; once the layer is known to have moved, it is a change, which a retry may get past.
    private static LayerExportException Changed(LayerExportException failure) =>
        failure.InnerException is TarMismatchException or TarSplitRecordException
            ? new LayerExportException(failure.Path, failure.Reason, new LayerChangedException($"the layer changed while its tar was made: {failure.InnerException.Message}"))
            : failure;

    /// <inheritdoc />
    public void Dispose() => content.Dispose();

    private async Task<(long Bytes, long Entries, string Fingerprint, TimeSpan UnchangedFor)> WriteTarAsync(HashingPipeWriter tar, ExpectedTar? expected, CancellationToken cancellationToken)
    {
        if (content.Recorded is { } recorded)
        {
            var survey = _survey ?? Survey(cancellationToken);
            var fingerprint = survey.Fingerprint;
            using var record = recorded.OpenRecord();

            // What is made now is recorded under the fingerprint surveyed: it must come from the record surveyed.
            record.Expect(survey.RecordDigest ?? throw new InvalidOperationException("a recorded layer's survey measures its record"));

            // Unhashed, the tar is held to a check a write that keeps a file's size and CRC-64 might pass: a file the survey
            // did not see as it is now (its ctime moved since, as every write moves it) fails as a change instead.
            _reassembled = new TarSplitAssembler(recorded.Files) { State = fingerprint, ChangedNoLaterThan = tar.Hashes ? null : survey.NewestChangeNanoseconds };
            try
            {
                var summary = await _reassembled.WriteAsync(record, tar, expected, cancellationToken).ConfigureAwait(false);

                // Every file was held to its recorded size and CRC-64 as read: a change its ctime hides cannot pass.
                return (summary.Bytes, summary.Entries, fingerprint, TimeSpan.MaxValue);
            }
            // A record that was not the one surveyed is a change already, whatever a walk after it finds (an edit undone).
            catch (LayerExportException e) when (!record.DiffersFromExpected && e.InnerException is LayerChangedException or TarMismatchException or TarSplitRecordException or NativeIOException { IsNotFound: true })
            {
                throw Judge(e, fingerprint, tar.Hashes && recorded.DiffId is { } stores && expected?.DiffId == stores, cancellationToken);
            }
        }

        // Before the reader looks at the first entry: only a ctime older than this by a timestamp's granularity is
        // sure to move at a later write (ExportSummary.UnchangedFor).
        var started = DateTimeOffset.UtcNow;
        using var reader = new PrefetchingEntryReader(content.CreateReader);
        var written = await _generated.WriteAsync(reader, tar, expected?.Length, expected is null ? null : (toCome, walked, token) => expected.VerifyAsync(tar, toCome, walked, "tar", token), cancellationToken).ConfigureAwait(false);
        return (written.Bytes, written.Entries, written.Fingerprint, Age(written.NewestChangeNanoseconds, started));
    }

    // How long before started the change at changeNanoseconds (since the epoch) was made; the most there is without one.
    private static TimeSpan Age(long changeNanoseconds, DateTimeOffset started) =>
        changeNanoseconds == long.MinValue
            ? TimeSpan.MaxValue
            : TimeSpan.FromTicks(started.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks - (changeNanoseconds / TimeSpan.NanosecondsPerTick));
}
