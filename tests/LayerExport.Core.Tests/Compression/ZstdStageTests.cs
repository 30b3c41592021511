using System.Buffers;
using LayerExport.Core.Compression;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The zstd stage's life: finishing, cancelling and disposing.</summary>
public class ZstdStageTests
{
    private static readonly byte[] Tar = MakeTar();

    [Fact]
    public async Task AFinishAlreadyCancelledWritesNoEpilogue()
    {
        using var output = new MemoryStream();
        await using var stage = CompressionStage.Create(LayerCompression.Zstd, output, new CompressionOptions { Threads = 1 });
        await stage.Input.WriteAsync(Tar);
        var before = output.Length;

        // The rest of the finish ignores the token, so that a body once complete stays complete: a cancelled export must
        // be told so before it starts.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stage.FinishAsync(new CancellationToken(canceled: true)));

        Assert.Equal(before, output.Length);
    }

    [Fact]
    public async Task ADisposedStageTakesNoMoreTar()
    {
        using var output = new MemoryStream();
        var stage = CompressionStage.Create(LayerCompression.Zstd, output, new CompressionOptions { Threads = 1 });
        await stage.Input.WriteAsync(Tar);

        await stage.DisposeAsync();

        // The encoder's context is released with the stage, not left to the finalizer.
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stage.Input.WriteAsync(Tar));
    }

    [Fact]
    public async Task DisposingTwiceReturnsTheOutputBufferToThePoolOnce()
    {
        var stage = CompressionStage.Create(LayerCompression.Zstd, Stream.Null, new CompressionOptions { Threads = 1 });

        await stage.DisposeAsync();
        await stage.DisposeAsync();

        // A buffer returned twice would be handed to two renters at once.
        var rented = Enumerable.Range(0, 3).Select(_ => ArrayPool<byte>.Shared.Rent(ZstdStage.OutputBufferSize)).ToArray();
        Assert.Equal(rented.Length, rented.Distinct().Count());
        foreach (var buffer in rented)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [Fact]
    public async Task TheInputIsAWriteOnlyStreamWrittenAsynchronously()
    {
        await using var stage = CompressionStage.Create(LayerCompression.Zstd, Stream.Null, new CompressionOptions { Threads = 1 });

        Assert.True(stage.Input.CanWrite);
        Assert.False(stage.Input.CanRead);
        Assert.False(stage.Input.CanSeek);
        var refused = Assert.Throws<NotSupportedException>(() => stage.Input.Write(Tar, 0, 10));
        Assert.Contains("asynchronously", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task FinishingFlushesTheWholeBodyToTheOutput(LayerCompression compression)
    {
        using var output = new FlushRecordingStream();
        await using var stage = CompressionStage.Create(compression, output, new CompressionOptions { Threads = 1 });
        await stage.Input.WriteAsync(Tar);

        await stage.FinishAsync(CancellationToken.None);

        // The output may be a response body that sends only what it is flushed: the epilogue would wait for the next request.
        Assert.True(output.Length > 0);
        Assert.Equal(output.Length, output.LengthAtLastFlush);
    }

    private static byte[] MakeTar()
    {
        var bytes = new byte[300 * 1024];
        new Random(5).NextBytes(bytes);
        return bytes;
    }
}
