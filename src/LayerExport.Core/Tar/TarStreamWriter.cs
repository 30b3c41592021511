using System.IO.Pipelines;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Tar;

/// <summary>Writes tar entries straight into a pipe, flushing in large writes and honouring cancellation.</summary>
/// <remarks>
/// File data is read directly into the pipe's own memory, so a byte is copied once from the page cache to the
/// response. Flushing only every <see cref="FlushThreshold"/> bytes keeps system calls few; the pipe's
/// back-pressure then bounds memory whatever the client's speed.
/// </remarks>
public sealed class TarStreamWriter(PipeWriter output)
{
    /// <summary>Bytes gathered before a flush.</summary>
    public const int FlushThreshold = 64 * 1024;

    /// <summary>Largest single read of file data; cancellation is checked between reads.</summary>
    public const int ReadChunk = 1024 * 1024;

    private long _unflushed;

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Writes one entry: its header and, for a regular file, exactly its declared size of data.</summary>
    public async ValueTask WriteEntryAsync(LayerEntry entry, CancellationToken cancellationToken)
    {
        Count(TarHeaderEncoder.Write(entry.Header, output));
        if (entry.Header.Size > 0)
        {
            await WriteContentAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        await FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the end-of-archive blocks and flushes everything.</summary>
    /// <param name="beforeLastFlush">Runs after the end blocks are written but before they are flushed; throwing here keeps the archive unfinished.</param>
    /// <param name="cancellationToken">Cancels the flush.</param>
    public async ValueTask FinishAsync(Action? beforeLastFlush, CancellationToken cancellationToken)
    {
        Count(TarHeaderEncoder.WriteEndOfArchive(output));
        beforeLastFlush?.Invoke();
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteContentAsync(LayerEntry entry, CancellationToken cancellationToken)
    {
        var content = entry.Content ?? throw new InvalidOperationException($"{entry.DisplayPath}: entry has a size but no content");
        var size = entry.Header.Size;
        for (long offset = 0; offset < size;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var wanted = (int)Math.Min(size - offset, ReadChunk);
            var memory = output.GetMemory(wanted);
            var read = content.Read(memory.Span[..Math.Min(wanted, memory.Length)], offset);
            if (read == 0)
            {
                throw new LayerChangedException($"file shrank to {offset} bytes while being read; its header said {size}");
            }

            output.Advance(read);
            offset += read;
            Count(read);
            await FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
        }

        // One byte past the end tells a file that grew; the probe lands in pipe memory that is never advanced.
        if (content.Read(output.GetSpan(1)[..1], size) != 0)
        {
            throw new LayerChangedException($"file grew past {size} bytes while being read");
        }

        Count(TarHeaderEncoder.WritePadding(size, output));
    }

    private void Count(long bytes)
    {
        BytesWritten += bytes;
        _unflushed += bytes;
    }

    private ValueTask FlushIfFullAsync(CancellationToken cancellationToken) =>
        _unflushed >= FlushThreshold ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _unflushed = 0;
        var result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            // The reading side is gone: the client hung up.
            throw new OperationCanceledException("The reader of the tar stream went away.", cancellationToken);
        }
    }
}
