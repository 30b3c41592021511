using System.Buffers;
using System.IO.Compression;
using System.IO.Hashing;

namespace LayerExport.Core.Compression;

/// <summary>A write-only gzip stream that compresses fixed-size blocks on all cores into one gzip member.</summary>
/// <remarks>
/// Each block is deflated on its own, without the previous block as dictionary, and ends on a byte boundary
/// (a sync flush), so the blocks concatenate into one valid deflate stream. Because a block's bytes depend only
/// on its input, the level and the block size, the output is the same whatever the number of threads: the
/// property moby and containerd gave up parallel gzip for. The header is fixed (no name, mtime 0, OS 255).
/// Call <see cref="FinishAsync"/> to end the member; disposing without it leaves the output unterminated,
/// which is what a failed export must look like. Every block's compressed length is kept (<see cref="Index"/>), so
/// the body can later be produced again from any block on (<see cref="GzipRange"/>).
/// </remarks>
public sealed class BlockGzipStream : Stream
{
    /// <summary>The smallest block size the stream accepts.</summary>
    internal const int MinBlockSize = 64 * 1024;

    private static ReadOnlySpan<byte> Header => [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

    private readonly Stream _inner;
    private readonly int _level;
    private readonly int _blockSize;
    private readonly int _maxInFlight;
    private readonly Queue<Task<CompressedBlock>> _inFlight = new();
    private readonly Crc32 _crc = new();
    private readonly List<int> _lengths = [];
    private readonly GzipBlockIndex? _resumed;
    private readonly int _firstBlock;
    private byte[] _block;
    private int _blockLength;
    private long _totalLength;
    private bool _headerWritten;
    private bool _finished;

    /// <summary>Compresses into <paramref name="inner"/> with the given zlib level and block size on <paramref name="threads"/> threads.</summary>
    public BlockGzipStream(Stream inner, int level, int blockSize, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 9);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, MinBlockSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _inner = inner;
        _level = level;
        _blockSize = blockSize;

        // One block more than threads keeps every core busy while the oldest block is being written out.
        _maxInFlight = threads + 1;
        _block = ArrayPool<byte>.Shared.Rent(blockSize);
    }

    /// <summary>Produces the body <paramref name="index"/> describes again from block <paramref name="firstBlock"/> on; write the tar from that block's start.</summary>
    /// <remarks>The header is written only from block 0; each block must come out at its indexed length, and the trailer is the indexed one.</remarks>
    internal BlockGzipStream(Stream inner, int level, int threads, GzipBlockIndex index, int firstBlock)
        : this(inner, level, index.BlockSize, threads)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(firstBlock, index.CompressedLengths.Count);
        _resumed = index;
        _firstBlock = firstBlock;
        _headerWritten = firstBlock > 0;
    }

    /// <summary>The compressed length of every block and the trailer's values; known once <see cref="FinishAsync"/> has run.</summary>
    public GzipBlockIndex Index => _finished && _resumed is null
        ? OwnIndex()
        : throw new InvalidOperationException("The index of a block gzip stream is known once the stream is finished.");

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => !_finished;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _crc.Append(buffer.Span);
        _totalLength += buffer.Length;
        while (!buffer.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _blockSize - _blockLength);
            buffer.Span[..n].CopyTo(_block.AsSpan(_blockLength));
            _blockLength += n;
            buffer = buffer[n..];
            if (_blockLength == _blockSize)
            {
                await SubmitBlockAsync(final: false, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Compresses what is left, writes the gzip trailer and flushes.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        await SubmitBlockAsync(final: true, cancellationToken).ConfigureAwait(false);
        while (_inFlight.Count > 0)
        {
            await WriteOldestAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_resumed is { } index && _firstBlock + _lengths.Count != index.CompressedLengths.Count)
        {
            throw new InvalidDataException($"the tar now makes {_firstBlock + _lengths.Count} gzip blocks, the index {index.CompressedLengths.Count}: the layer changed");
        }

        await _inner.WriteAsync((_resumed ?? OwnIndex()).Trailer(), cancellationToken).ConfigureAwait(false);

        // A pipe's stream sends what it is written: the body may be complete and its client gone already, which must
        // not make a finished body a cancelled one.
        await _inner.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        _finished = true;
    }

    /// <summary>Writes out every whole block written so far, without ending the member; for a range that stops before the last block.</summary>
    /// <remarks>What was written must end on a block boundary: a partial block would be the final one.</remarks>
    internal async Task WriteWholeBlocksAsync(CancellationToken cancellationToken)
    {
        if (_blockLength != 0)
        {
            throw new InvalidOperationException("Only whole blocks can be written out without finishing the member.");
        }

        while (_inFlight.Count > 0)
        {
            await WriteOldestAsync(cancellationToken).ConfigureAwait(false);
        }

        await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("BlockGzipStream is written asynchronously.");

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _finished = true;
            foreach (var pending in _inFlight)
            {
                // Completed or not, a pending block only owns pooled memory; let it finish and return it. A failure
                // is observed here: the export has already ended for its own reason.
                pending.ContinueWith(
                    static t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            t.Result.Return();
                        }
                        else
                        {
                            _ = t.Exception;
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }

            _inFlight.Clear();
            if (_block.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_block);
                _block = [];
            }
        }

        base.Dispose(disposing);
    }

    private GzipBlockIndex OwnIndex() => new(_blockSize, [.. _lengths], _crc.GetCurrentHashAsUInt32(), _totalLength);

    private async ValueTask SubmitBlockAsync(bool final, CancellationToken cancellationToken)
    {
        if (_inFlight.Count >= _maxInFlight)
        {
            await WriteOldestAsync(cancellationToken).ConfigureAwait(false);
        }

        var input = _block;
        var length = _blockLength;
        var level = _level;
        // Not cancellable once queued: the block owns the pooled input, which only the compression returns.
        _inFlight.Enqueue(Task.Run(() => CompressedBlock.Deflate(input, length, level, final), CancellationToken.None));
        _block = final ? [] : ArrayPool<byte>.Shared.Rent(_blockSize);
        _blockLength = 0;
    }

    private async ValueTask WriteOldestAsync(CancellationToken cancellationToken)
    {
        var block = await _inFlight.Dequeue().ConfigureAwait(false);
        try
        {
            if (_resumed is { } index && (_firstBlock + _lengths.Count >= index.CompressedLengths.Count
                || index.CompressedLengths[_firstBlock + _lengths.Count] != block.Bytes.Length))
            {
                throw new InvalidDataException($"gzip block {_firstBlock + _lengths.Count} does not come out as indexed: the layer changed");
            }

            _lengths.Add(block.Bytes.Length);
            if (!_headerWritten)
            {
                // Not before: a response's stream sends what it is written, and a body whose first bytes left can no
                // longer be a problem response when the export fails before any block is done.
                await _inner.WriteAsync(Header.ToArray(), cancellationToken).ConfigureAwait(false);
                _headerWritten = true;
            }

            await _inner.WriteAsync(block.Bytes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            block.Return();
        }
    }

    private sealed class CompressedBlock(byte[] buffer, int length)
    {
        // A final, empty block with fixed Huffman codes: BFINAL=1, BTYPE=01, end-of-block.
        private static ReadOnlySpan<byte> EmptyFinalBlock => [0x03, 0x00];

        public ReadOnlyMemory<byte> Bytes => buffer.AsMemory(0, length);

        // A non-final block ends with a sync flush (byte-aligned, not final); only the last one finishes the stream.
        public static CompressedBlock Deflate(byte[] input, int length, int level, bool final)
        {
            try
            {
                var output = new PooledBufferStream(length + (length >> 3) + 1024);
                using (var deflate = new DeflateStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
                {
                    deflate.Write(input, 0, length);
                    deflate.Flush();
                    if (!final)
                    {
                        output.Freeze();
                    }
                }

                if (final && output.FrozenOrWrittenLength == 0)
                {
                    // .NET writes nothing for an empty stream; a deflate stream must still end with a final block.
                    output.Write(EmptyFinalBlock);
                }

                return new CompressedBlock(output.Buffer, output.FrozenOrWrittenLength);
            }
            finally
            {
                if (input.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(input);
                }
            }
        }

        public void Return() => ArrayPool<byte>.Shared.Return(buffer);
    }
}
