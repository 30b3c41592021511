using System.Buffers;
using System.IO.Pipelines;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Tar;

/// <summary>Writes tar entries straight into a pipe, flushing in large writes and honouring cancellation.</summary>
/// <remarks>
/// File data is read directly into the pipe's own memory, so a byte is copied once from the page cache to the
/// response. Flushing only every <see cref="FlushThreshold"/> bytes keeps system calls few; the pipe's
/// back-pressure then bounds memory whatever the client's speed. A byte window (for a range of the tar) makes the
/// writer skip whole entries before it without reading their files, and stop once the window is full.
/// </remarks>
public sealed class TarStreamWriter
{
    /// <summary>Bytes gathered before a flush.</summary>
    public const int FlushThreshold = 64 * 1024;

    private readonly PipeWriter _output;
    private readonly long _windowStart;
    private readonly long _windowEnd;
    private readonly BatchedFlush _flush;
    private long _dataEnd;
    private long _entryEnd;

    /// <summary>A writer of the whole tar.</summary>
    public TarStreamWriter(PipeWriter output)
        : this(output, 0, long.MaxValue)
    {
    }

    /// <summary>A writer of the tar bytes <paramref name="windowStart"/> up to (not including) <paramref name="windowEnd"/>.</summary>
    public TarStreamWriter(PipeWriter output, long windowStart, long windowEnd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(windowStart);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowEnd, windowStart);
        _output = output;
        _flush = new BatchedFlush(output);
        _windowStart = windowStart;
        _windowEnd = windowEnd;
    }

    /// <summary>Tar offset reached so far (bytes written, plus any skipped before the window).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Zero bytes that complete the last entry begun: 0 between entries, the padding after a file's last byte, null inside a header or a file's data.</summary>
    public long? PaddingToEntryEnd => BytesWritten == _entryEnd ? 0 : BytesWritten == _dataEnd ? _entryEnd - _dataEnd : null;

    /// <summary>True once every byte of the window has been written.</summary>
    public bool WindowFilled => BytesWritten >= _windowEnd;

    /// <summary>Writes one entry: its header and, for a regular file, exactly its declared size of data.</summary>
    public async ValueTask WriteEntryAsync(LayerEntry entry, CancellationToken cancellationToken)
    {
        var header = entry.Header;
        if (Windowed)
        {
            var end = TarLength.Add(BytesWritten, TarHeaderEncoder.EntryLength(header));
            if (end <= _windowStart || WindowFilled)
            {
                // Entirely outside the window: not encoded, its file not read.
                BytesWritten = end;
                _dataEnd = _entryEnd = BytesWritten;
                return;
            }
        }

        WriteHeader(header);
        _dataEnd = TarLength.Add(BytesWritten, header.Size);
        _entryEnd = TarLength.Add(BytesWritten, TarHeaderEncoder.PaddedLength(header.Size));
        // An empty file is read too: the probe past its end and the check after it tell one written to since its open.
        if (header.Size > 0 || entry.Content is not null)
        {
            await WriteContentAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        await _flush.FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the end-of-archive blocks and flushes everything.</summary>
    /// <param name="beforeEnd">
    /// Runs before the end blocks are written, given them; throwing here keeps the archive unfinished, and what was
    /// written so far ends at an entry boundary.
    /// </param>
    /// <param name="cancellationToken">Cancels the check and the flush.</param>
    public async ValueTask FinishAsync(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? beforeEnd, CancellationToken cancellationToken)
    {
        if (beforeEnd is not null)
        {
            await beforeEnd(TarHeaderEncoder.EndOfArchive, cancellationToken).ConfigureAwait(false);
        }

        var end = TarLength.Add(BytesWritten, TarHeaderEncoder.EndOfArchive.Length);
        if (BytesWritten < _windowEnd && end > _windowStart)
        {
            Emit(TarHeaderEncoder.EndOfArchive.Span);
        }
        else
        {
            BytesWritten = end;
        }

        await _flush.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private bool Windowed => _windowStart > 0 || _windowEnd != long.MaxValue;

    private void WriteHeader(TarEntryHeader header)
    {
        if (!Windowed)
        {
            // Nothing to cut: the header is encoded in the pipe's own memory, never copied.
            Count(TarHeaderEncoder.Write(header, _output));
            return;
        }

        var length = TarHeaderEncoder.EncodedLength(header);
        if (BytesWritten >= _windowStart && BytesWritten + length <= _windowEnd)
        {
            TarHeaderEncoder.Write(header, _output);
            Count(length);
            return;
        }

        // A header cut by a window edge is encoded aside and only its part inside the window is written.
        var scratch = new ArrayBufferWriter<byte>(length);
        TarHeaderEncoder.Write(header, scratch);
        Emit(scratch.WrittenSpan);
    }

    private async ValueTask WriteContentAsync(LayerEntry entry, CancellationToken cancellationToken)
    {
        var content = entry.Content ?? throw new InvalidOperationException($"{entry.DisplayPath}: entry has a size but no content");
        var size = entry.Header.Size;
        var dataStart = BytesWritten;
        var from = Math.Clamp(_windowStart - dataStart, 0, size);
        var to = Math.Clamp(_windowEnd - dataStart, 0, size);
        BytesWritten += from;
        var probed = false;
        using var reads = FileReadSize.Begin(to - from);
        for (var offset = from; offset < to;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = reads.Chunk;
            // The read that reaches the end asks for one byte more: getting it means the file grew. The extra
            // byte lands in pipe memory that is never advanced, and a short read there is the end of the file.
            // It stays within one chunk, so the pipe never needs a buffer larger than a chunk.
            var probe = to == size && to - offset < chunk;
            var wanted = (int)Math.Min(to - offset, chunk);
            var memory = _output.GetMemory(probe ? wanted + 1 : wanted);
            var read = content.Read(memory.Span[..Math.Min(probe ? wanted + 1 : wanted, memory.Length)], offset);
            if (read == 0)
            {
                throw new LayerChangedException($"file shrank to {offset} bytes while being read; its header said {size}");
            }

            var grew = read > wanted;
            read = Math.Min(read, wanted);
            probed = probe && memory.Length > wanted;
            _output.Advance(read);
            offset += read;
            Count(read);
            if (grew)
            {
                throw new LayerChangedException($"file grew past {size} bytes while being read");
            }

            await _flush.FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
        }

        BytesWritten += size - to;
        if (to == size && !probed)
        {
            // One byte past the end tells a file that grew; the probe lands in pipe memory that is never advanced.
            if (content.Read(_output.GetSpan(1)[..1], size) != 0)
            {
                throw new LayerChangedException($"file grew past {size} bytes while being read");
            }
        }

        if (to == size)
        {
            // Read to the end at its declared size; the open file may still have been deleted, replaced or changed.
            content.EnsureUnchanged();
        }

        var padding = (int)(TarHeaderEncoder.PaddedLength(size) - size);
        if (padding > 0)
        {
            Span<byte> zeros = stackalloc byte[padding];
            zeros.Clear();
            Emit(zeros);
        }
    }

    // Writes the part of bytes at the current offset that falls inside the window.
    private void Emit(ReadOnlySpan<byte> bytes)
    {
        var from = (int)Math.Clamp(_windowStart - BytesWritten, 0, bytes.Length);
        var to = (int)Math.Clamp(_windowEnd - BytesWritten, 0, bytes.Length);
        BytesWritten += from;
        if (to > from)
        {
            _output.Write(bytes[from..to]);
            Count(to - from);
        }

        BytesWritten += bytes.Length - Math.Max(from, to);
    }

    private void Count(long bytes)
    {
        BytesWritten += bytes;
        _flush.Count(bytes);
    }
}
