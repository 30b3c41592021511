using System.IO.Pipelines;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Export;

/// <summary>A write-only stream into a pipe that flushes only once a batch has gathered, or when told to.</summary>
/// <remarks>
/// A byte range is checked once all of it is made. Flushed as it is written, as <c>PipeWriter.AsStream</c> flushes every
/// write, its first bytes reach the response before that check, so a range that fails it could only be cut, with
/// no status line when the headers had not left yet. Held in the pipe, a range smaller than a batch fails before any
/// byte leaves, as a problem response. As <c>AsStream</c>'s stream, it takes a pipe whose reader went away for one
/// that still reads: the client's hang-up is the request's abort, which the export sees as cancellation.
/// </remarks>
internal sealed class BatchedPipeStream(PipeWriter output) : Stream
{
    private long _unflushed;

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Flushes whatever is written, batch or not.</summary>
    /// <exception cref="OperationCanceledException">The pipe's reader went away.</exception>
    public async ValueTask FlushAllAsync(CancellationToken cancellationToken)
    {
        _unflushed = 0;
        if ((await output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCanceled)
        {
            throw new OperationCanceledException("The flush of the body was cancelled.", cancellationToken);
        }
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        for (var left = buffer; !left.IsEmpty;)
        {
            var span = output.GetSpan();
            var n = Math.Min(span.Length, left.Length);
            left[..n].CopyTo(span);
            output.Advance(n);
            left = left[n..];
        }

        _unflushed += buffer.Length;
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    /// <remarks>Only a whole batch: the bytes of a range are sent, but for the last batch, before its check.</remarks>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _unflushed >= TarStreamWriter.FlushThreshold ? FlushAllAsync(cancellationToken).AsTask() : Task.CompletedTask;

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
