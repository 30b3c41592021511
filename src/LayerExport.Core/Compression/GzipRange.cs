using System.IO.Pipelines;

namespace LayerExport.Core.Compression;

/// <summary>Produces bytes <c>start</c> to <c>end</c> of a block-gzip body again, compressing only the blocks that hold them.</summary>
/// <remarks>
/// The tar is generated from the start of the first block needed (the caller's tar writer reads no file before
/// it) to the end of the last one; a range that reaches the last block ends with the indexed trailer.
/// </remarks>
public static class GzipRange
{
    /// <summary>Writes body bytes <paramref name="start"/> to <paramref name="end"/> (exclusive) into <paramref name="output"/>.</summary>
    /// <param name="output">Where the bytes go.</param>
    /// <param name="index">The body's index, from a complete compression of the same tar.</param>
    /// <param name="options">The codec settings the index was made with.</param>
    /// <param name="start">First body byte.</param>
    /// <param name="end">Body byte after the last one; at most <see cref="GzipBlockIndex.Size"/>.</param>
    /// <param name="writeTar">Writes tar bytes from its first offset to its second (exclusive) into the pipe.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <exception cref="InvalidDataException">A block does not come out at its indexed length: the tar is not the indexed one.</exception>
    public static async Task WriteAsync(
        Stream output,
        GzipBlockIndex index,
        CompressionOptions options,
        long start,
        long end,
        Func<PipeWriter, long, long, CancellationToken, Task> writeTar,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(writeTar);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, index.Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(start, end);
        var (first, firstStart) = index.Locate(start);
        var (last, _) = index.Locate(end - 1);
        var window = new WindowStream(output, start - firstStart, end - start);
        var blocks = index.CompressedLengths.Count;
        if (first == blocks)
        {
            await window.WriteAsync(index.Trailer(), cancellationToken).ConfigureAwait(false);
            await window.FlushAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var toTheEnd = last >= blocks - 1;
        var tarStart = (long)first * index.BlockSize;
        var tarEnd = toTheEnd ? index.TarLength : (long)(last + 1) * index.BlockSize;
        await using var gzip = new BlockGzipStream(window, options.Gzip.Level, options.EffectiveThreads, index, first);
        var tar = PipeWriter.Create(gzip, new StreamPipeWriterOptions(leaveOpen: true));
        await writeTar(tar, tarStart, tarEnd, cancellationToken).ConfigureAwait(false);
        await tar.CompleteAsync().ConfigureAwait(false);
        if (toTheEnd)
        {
            await gzip.FinishAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await gzip.WriteWholeBlocksAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
