using System.Buffers;

namespace LayerExport.Core.Compression;

/// <summary>zstd with worker threads, which the zstd format keeps byte-identical for any worker count of one or more.</summary>
/// <remarks>
/// zstd's single-threaded mode (no workers) cuts its input differently from its multi-threaded mode, so the
/// encoder always runs with at least one worker: the bytes then never depend on the machine's core count.
/// Flushes of <see cref="Input"/> are ignored, so the bytes do not depend on how often the tar writer flushes
/// either, and zstd keeps its full-size blocks and jobs.
/// </remarks>
internal sealed class ZstdStage : CompressionStage
{
    /// <summary>Bytes of output taken from the encoder at a time: zstd's own advice (<c>ZSTD_CStreamOutSize</c>) is one block, 128 KiB.</summary>
    internal const int OutputBufferSize = 128 * 1024;

    private readonly Stream _output;
    private readonly ZstdEncoder _encoder;
    private readonly byte[] _buffer;
    private readonly StageInput _input;
    private bool _disposed;

    public ZstdStage(Stream output, CompressionOptions options)
    {
        _output = output;
        _encoder = ZstdEncoder.Create(ZstdImplementation.Resolve(options.Zstd).Library, options.Zstd.Level, options.EffectiveThreads);
        _buffer = ArrayPool<byte>.Shared.Rent(OutputBufferSize);
        _input = new StageInput(this);
    }

    public override Stream Input => _input;

    public override async Task FinishAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool done;
        do
        {
            var written = _encoder.Compress([], _buffer, end: true, out _, out done);
            if (written > 0)
            {
                await _output.WriteAsync(_buffer.AsMemory(0, written), CancellationToken.None).ConfigureAwait(false);
            }
        }
        while (!done);

        // The epilogue is written, and a pipe's stream sends what it is given: the body may be complete and its client
        // gone already, which must not make a finished body a cancelled one.
        await _output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public override ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }

        // Without FinishAsync no epilogue was written: a failed export must not look finished.
        _disposed = true;
        _encoder.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        return ValueTask.CompletedTask;
    }

    private async ValueTask CompressAsync(ReadOnlyMemory<byte> tar, CancellationToken cancellationToken)
    {
        while (!tar.IsEmpty)
        {
            var written = _encoder.Compress(tar.Span, _buffer, end: false, out var consumed, out _);
            tar = tar[consumed..];
            if (written > 0)
            {
                await _output.WriteAsync(_buffer.AsMemory(0, written), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The tar's way in: writes compress, flushes do nothing (see the stage's remarks).</summary>
    private sealed class StageInput(ZstdStage stage) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            stage.CompressAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            stage.CompressAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // Written to synchronously, the response body would block a thread on the client.
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The zstd stage is written asynchronously.");

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
