using System.IO.Pipelines;

namespace LayerExport.Benchmarks;

/// <summary>A pipe writer that discards everything and counts the bytes: the export's output costs nothing.</summary>
public sealed class NullPipeWriter : PipeWriter
{
    private Memory<byte> _buffer = new byte[64 * 1024];

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <inheritdoc />
    public override void Advance(int bytes) => BytesWritten += bytes;

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (sizeHint > _buffer.Length)
        {
            _buffer = new byte[sizeHint];
        }

        return _buffer;
    }

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false));

    /// <inheritdoc />
    public override void CancelPendingFlush()
    {
    }

    /// <inheritdoc />
    public override void Complete(Exception? exception = null)
    {
    }
}
