using System.IO.Pipelines;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Store;

namespace LayerExport.Core.Export;

/// <summary>A validated, opened layer waiting to be written as a tar stream in one representation.</summary>
/// <remarks>
/// One pass produces everything: the tar is hashed as it is written (the diffID), compressed when asked, and
/// the bytes sent are hashed again (the blob digest). Nothing is finished on failure: no end-of-archive blocks,
/// no gzip trailer, no zstd epilogue.
/// </remarks>
public sealed class PreparedExport(LayerDescription layer, ILayerContent content, CompressionOptions compressionOptions) : IDisposable
{
    /// <summary>The layer being exported.</summary>
    public LayerDescription Layer { get; } = layer;

    /// <summary>Progress of the running export, readable after it fails.</summary>
    public LayerTarExport Progress { get; } = new();

    /// <summary>Writes the layer as an uncompressed tar into <paramref name="output"/>.</summary>
    public Task<ExportSummary> WriteTarAsync(PipeWriter output, CancellationToken cancellationToken) =>
        WriteAsync(LayerCompression.None, output, expected: null, cancellationToken);

    /// <summary>Writes the layer as <paramref name="compression"/> into <paramref name="output"/>.</summary>
    /// <param name="compression">The representation.</param>
    /// <param name="output">Where its bytes go.</param>
    /// <param name="expected">
    /// What was already announced about the tar (its length, its diffID); when the tar turns out different, the
    /// export fails before its last bytes leave, so a client never gets a complete body that contradicts a header.
    /// </param>
    /// <param name="cancellationToken">Stops the export.</param>
    public async Task<ExportSummary> WriteAsync(LayerCompression compression, PipeWriter output, ExpectedTar? expected, CancellationToken cancellationToken)
    {
        using var reader = content.CreateReader();
        if (compression == LayerCompression.None)
        {
            using var tar = new HashingPipeWriter(output);
            var written = await Progress.WriteAsync(reader, tar, () => Verify(tar, expected), cancellationToken).ConfigureAwait(false);
            return new ExportSummary(written.Bytes, written.Entries, tar.CurrentDigest, tar.CurrentDigest, tar.Length, written.Fingerprint);
        }

        await using var body = output.AsStream(leaveOpen: true);
        await using var sent = new HashingStream(body);
        await using var stage = CompressionStage.Create(compression, sent, compressionOptions);
        var compressorInput = PipeWriter.Create(stage.Input, new StreamPipeWriterOptions(leaveOpen: true));
        using (var tar = new HashingPipeWriter(compressorInput))
        {
            var written = await Progress.WriteAsync(reader, tar, () => Verify(tar, expected), cancellationToken).ConfigureAwait(false);
            await compressorInput.CompleteAsync().ConfigureAwait(false);
            await stage.FinishAsync(cancellationToken).ConfigureAwait(false);
            return new ExportSummary(written.Bytes, written.Entries, tar.CurrentDigest, sent.CurrentDigest, sent.BytesWritten, written.Fingerprint);
        }
    }

    /// <summary>Writes the plain tar's bytes <paramref name="start"/> to <paramref name="end"/> (exclusive), reading no file that lies wholly before <paramref name="start"/>.</summary>
    public async Task WriteTarRangeAsync(PipeWriter output, long start, long end, CancellationToken cancellationToken)
    {
        using var reader = content.CreateReader();
        await Progress.WriteRangeAsync(reader, output, start, end, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Walks the layer's metadata: exact tar size and fingerprint, no file read.</summary>
    public LayerSurvey Survey(CancellationToken cancellationToken)
    {
        using var reader = content.CreateMetadataReader();
        return LayerSurvey.Take(reader, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => content.Dispose();

    private static void Verify(HashingPipeWriter tar, ExpectedTar? expected)
    {
        if (expected?.Length is { } length && tar.Length != length)
        {
            throw new LayerExportException("(end of archive)", $"the tar is {tar.Length} bytes, not the announced {length}: the layer changed on disk");
        }

        if (expected?.DiffId is { } diffId && tar.CurrentDigest != diffId)
        {
            throw new LayerExportException("(end of archive)", $"the tar's digest {tar.CurrentDigest} is not the announced {diffId}: the layer changed on disk");
        }
    }
}
