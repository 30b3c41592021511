using LayerExport.Core.Compression;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The block gzip stream's contract: its arguments, its end, its inner stream's flushes and its bound on blocks in flight.</summary>
public sealed class BlockGzipStreamTests
{
    private const int BlockSize = 64 * 1024;

    [Theory]
    [InlineData(0, BlockSize, 1)]
    [InlineData(10, BlockSize, 1)]
    [InlineData(1, BlockSize - 1, 1)]
    [InlineData(1, BlockSize, 0)]
    public void ALevelBlockSizeOrThreadCountOutOfRangeIsRefused(int level, int blockSize, int threads) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockGzipStream(Stream.Null, level, blockSize, threads));

    [Fact]
    public async Task ResumingPastTheLastIndexedBlockIsRefused()
    {
        var index = await IndexAsync(Data(2 * BlockSize));

        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockGzipStream(Stream.Null, 1, threads: 1, index, firstBlock: index.CompressedLengths.Count));
    }

    [Fact]
    public async Task TheIndexIsKnownOnlyOnceFinished()
    {
        await using var gzip = new BlockGzipStream(Stream.Null, 1, BlockSize, threads: 1);
        await gzip.WriteAsync(Data(100));

        Assert.Throws<InvalidOperationException>(() => gzip.Index);
    }

    [Fact]
    public async Task AFinishedStreamTakesNoMoreWritesAndNoSecondEnd()
    {
        var output = new MemoryStream();
        await using var gzip = new BlockGzipStream(output, 1, BlockSize, threads: 1);
        Assert.False(gzip.CanRead);
        Assert.False(gzip.CanSeek);
        Assert.True(gzip.CanWrite);
        await gzip.WriteAsync(Data(100));
        await gzip.FinishAsync(CancellationToken.None);
        var body = output.ToArray();

        Assert.False(gzip.CanWrite);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await gzip.WriteAsync(Data(1)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => gzip.FinishAsync(CancellationToken.None));
        Assert.Equal(body, output.ToArray());
    }

    [Fact]
    public async Task ADisposedStreamTakesNoMoreWrites()
    {
        var gzip = new BlockGzipStream(Stream.Null, 1, BlockSize, threads: 1);
        await gzip.WriteAsync(Data(100));

        await gzip.DisposeAsync();

        Assert.False(gzip.CanWrite);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await gzip.WriteAsync(Data(1)));
    }

    [Fact]
    public async Task FinishingFlushesTheInnerStreamAfterTheTrailer()
    {
        var output = new FlushRecordingStream();
        await using var gzip = new BlockGzipStream(output, 1, BlockSize, threads: 1);
        await gzip.WriteAsync(Data(100));

        await gzip.FinishAsync(CancellationToken.None);

        // A pipe's stream sends only what it was flushed.
        Assert.Equal(output.Length, output.LengthAtLastFlush);
    }

    [Fact]
    public async Task WritingOutWholeBlocksFlushesThemToTheInnerStream()
    {
        var output = new FlushRecordingStream();
        await using var gzip = new BlockGzipStream(output, 1, BlockSize, threads: 1);
        await gzip.WriteAsync(Data(2 * BlockSize));

        await gzip.WriteWholeBlocksAsync(CancellationToken.None);

        Assert.True(output.Length > GzipBlockIndex.HeaderLength);
        Assert.Equal(output.Length, output.LengthAtLastFlush);
    }

    [Fact]
    public async Task APartialBlockCannotBeWrittenOutWithoutFinishing()
    {
        await using var gzip = new BlockGzipStream(Stream.Null, 1, BlockSize, threads: 1);
        await gzip.WriteAsync(Data(BlockSize + 1));

        await Assert.ThrowsAsync<InvalidOperationException>(() => gzip.WriteWholeBlocksAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AtMostOneBlockMoreThanThreadsWaitsToBeWrittenOut()
    {
        var output = new MemoryStream();
        await using var gzip = new BlockGzipStream(output, 1, BlockSize, threads: 1);

        // Two blocks may be in flight with one thread: the third one waits for the first to be written out.
        await gzip.WriteAsync(Data(3 * BlockSize));

        Assert.True(output.Length > GzipBlockIndex.HeaderLength, "no block was written out: memory grows with the layer");
    }

    [Fact]
    public async Task ATarMakingMoreBlocksThanIndexedFailsAsTheLayerChanging()
    {
        // An index of one final block exactly as long as a block of zeros compresses to: the zeros match it, and
        // the block after them is past the index.
        var zeros = new byte[BlockSize];
        var zerosLength = (await IndexAsync([.. zeros, .. zeros])).CompressedLengths[0];
        GzipBlockIndex? index = null;
        for (var size = 1; index is null && size < 2 * zerosLength; size++)
        {
            var candidate = await IndexAsync(Data(size));
            index = candidate.CompressedLengths[0] == zerosLength ? candidate : null;
        }

        Assert.NotNull(index);
        await using var gzip = new BlockGzipStream(Stream.Null, 1, threads: 1, index, firstBlock: 0);
        await gzip.WriteAsync(zeros);
        await gzip.WriteAsync(zeros);

        await Assert.ThrowsAsync<InvalidDataException>(() => gzip.FinishAsync(CancellationToken.None));
    }

    private static async Task<GzipBlockIndex> IndexAsync(byte[] tar)
    {
        await using var gzip = new BlockGzipStream(Stream.Null, 1, BlockSize, threads: 1);
        await gzip.WriteAsync(tar);
        await gzip.FinishAsync(CancellationToken.None);
        return gzip.Index;
    }

    private static byte[] Data(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }
}
