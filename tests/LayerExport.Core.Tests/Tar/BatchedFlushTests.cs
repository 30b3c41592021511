using System.Buffers;
using System.IO.Pipelines;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>A batch reaches the reader once it is full, counting starts again after each flush, and a reader that went away is cancellation.</summary>
public sealed class BatchedFlushTests
{
    [Fact]
    public async Task NothingIsFlushedUntilABatchHasGathered()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var flush = new BatchedFlush(pipe.Writer);

        await WriteAsync(pipe.Writer, flush, TarStreamWriter.FlushThreshold - 1);
        Assert.False(pipe.Reader.TryRead(out _));

        await WriteAsync(pipe.Writer, flush, 1);
        Assert.True(pipe.Reader.TryRead(out var read));
        Assert.Equal(TarStreamWriter.FlushThreshold, read.Buffer.Length);
    }

    [Fact]
    public async Task TheNextBatchCountsOnlyBytesAfterTheFlush()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var flush = new BatchedFlush(pipe.Writer);
        await WriteAsync(pipe.Writer, flush, TarStreamWriter.FlushThreshold);
        Assert.True(pipe.Reader.TryRead(out var first));
        pipe.Reader.AdvanceTo(first.Buffer.End);

        await WriteAsync(pipe.Writer, flush, TarStreamWriter.FlushThreshold - 1);

        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task AnExplicitFlushStartsTheBatchAgain()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var flush = new BatchedFlush(pipe.Writer);
        pipe.Writer.Write(new byte[10]);
        flush.Count(TarStreamWriter.FlushThreshold - 1);
        await flush.FlushAsync(CancellationToken.None);
        Assert.True(pipe.Reader.TryRead(out var first));
        pipe.Reader.AdvanceTo(first.Buffer.End);

        await WriteAsync(pipe.Writer, flush, 1);

        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task AReaderThatCompletedTurnsTheFlushIntoCancellation()
    {
        var pipe = new Pipe();
        var flush = new BatchedFlush(pipe.Writer);
        pipe.Writer.Write(new byte[10]);
        await pipe.Reader.CompleteAsync();

        await Assert.ThrowsAsync<OperationCanceledException>(() => flush.FlushAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task ACancelledFlushTurnsIntoCancellation()
    {
        var pipe = new Pipe();
        var flush = new BatchedFlush(pipe.Writer);
        pipe.Writer.Write(new byte[10]);
        pipe.Writer.CancelPendingFlush();

        await Assert.ThrowsAsync<OperationCanceledException>(() => flush.FlushAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task AFlushTheReaderTookIsNoCancellation()
    {
        var pipe = new Pipe();
        var flush = new BatchedFlush(pipe.Writer);
        pipe.Writer.Write(new byte[10]);

        await flush.FlushAsync(CancellationToken.None);

        Assert.True(pipe.Reader.TryRead(out var read));
        Assert.Equal(10, read.Buffer.Length);
    }

    private static async Task WriteAsync(PipeWriter writer, BatchedFlush flush, int bytes)
    {
        writer.Write(new byte[bytes]);
        flush.Count(bytes);
        await flush.FlushIfFullAsync(CancellationToken.None);
    }
}
