using System.IO.Pipelines;

namespace LayerExport.Core.Tar;

/// <summary>Flushes a pipe once <see cref="TarStreamWriter.FlushThreshold"/> bytes have gathered; a reader that went away becomes cancellation.</summary>
/// <remarks>
/// Large batches keep system calls and wake-ups few, and awaiting each flush lets the pipe's back-pressure
/// bound memory whatever the client's speed.
/// </remarks>
internal sealed class BatchedFlush(PipeWriter output)
{
    private long _unflushed;

    /// <summary>Counts bytes written to the pipe since the last flush.</summary>
    public void Count(long bytes) => _unflushed += bytes;

    /// <summary>Flushes when a batch has gathered.</summary>
    public ValueTask FlushIfFullAsync(CancellationToken cancellationToken) =>
        _unflushed >= TarStreamWriter.FlushThreshold ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <summary>Flushes now.</summary>
    /// <exception cref="OperationCanceledException">The pipe's reader completed or cancelled: the client hung up.</exception>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _unflushed = 0;
        var result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new OperationCanceledException("The reader of the tar stream went away.", cancellationToken);
        }
    }
}
