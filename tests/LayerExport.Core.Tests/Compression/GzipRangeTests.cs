using System.Buffers;
using LayerExport.Core.Compression;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Compression;

/// <summary>Any byte range of a block-gzip body comes out again from its index, compressing only the blocks that hold it.</summary>
public sealed class GzipRangeTests
{
    private const int BlockSize = 64 * 1024;

    private static readonly CompressionOptions Options = new() { Gzip = { Level = 2, BlockSize = BlockSize }, Threads = 2 };

    [Theory]
    [InlineData(3 * BlockSize + 12_345)]
    [InlineData(3 * BlockSize)]
    public async Task EveryRangeIsTheSameBytesAsTheWholeBody(int tarLength)
    {
        var tar = Tar(tarLength);
        var (body, index) = await CompressAsync(tar);
        Assert.Equal(body.Length, index.Size);
        var blockStarts = Enumerable.Range(1, index.CompressedLengths.Count - 1).Select(b => index.Locate(GzipBlockIndex.HeaderLength + index.CompressedLengths.Take(b).Sum()).BlockStart).ToList();

        long[] starts = [0, 3, GzipBlockIndex.HeaderLength, GzipBlockIndex.HeaderLength + 1, .. blockStarts, blockStarts[0] - 1, blockStarts[1] + 77, body.Length - 8, body.Length - 1];
        foreach (var start in starts)
        {
            foreach (var end in new long[] { body.Length, Math.Min(body.Length, start + 1), Math.Min(body.Length, start + BlockSize + 3) })
            {
                var (range, _) = await RangeAsync(tar, index, start, end);
                Assert.True(body.AsSpan((int)start, (int)(end - start)).SequenceEqual(range), $"bytes {start}-{end} of {body.Length} differ");
            }
        }
    }

    [Fact]
    public async Task OnlyTheTarFromTheFirstNeededBlockIsAskedFor()
    {
        var tar = Tar((5 * BlockSize) + 100);
        var (body, index) = await CompressAsync(tar);
        var (third, _) = index.Locate(body.Length / 2);

        var (_, asked) = await RangeAsync(tar, index, body.Length / 2, body.Length);

        Assert.Equal(((long)third * BlockSize, tar.Length), asked);
        Assert.True(third >= 2, $"the middle of the body is in block {third}");
    }

    [Fact]
    public async Task ARangeEndingAtABlocksEndAsksForNoTarAfterThatBlock()
    {
        var tar = Tar((5 * BlockSize) + 100);
        var (body, index) = await CompressAsync(tar);
        var secondStart = GzipBlockIndex.HeaderLength + index.CompressedLengths[0];
        var secondEnd = secondStart + index.CompressedLengths[1];

        var (range, asked) = await RangeAsync(tar, index, secondStart + 5, secondEnd);

        Assert.Equal(((long)BlockSize, 2L * BlockSize), asked);
        Assert.True(body.AsSpan(secondStart + 5, secondEnd - secondStart - 5).SequenceEqual(range));
    }

    [Fact]
    public async Task TarBytesTheWriterLeftUnflushedAreCompressedToo()
    {
        var tar = Tar((2 * BlockSize) + 100);
        var (body, index) = await CompressAsync(tar);
        using var output = new MemoryStream();

        // The tar writer's last bytes may still sit in the pipe when it returns; completing the pipe sends them on.
        await GzipRange.WriteAsync(output, index, Options, 0, body.Length, (pipe, from, to, _) =>
        {
            pipe.Write(tar.AsSpan((int)from, (int)(to - from)));
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal(body, output.ToArray());
    }

    // The caller may keep the response open after a range (HTTP/1.1 keep-alive), so a range's last bytes must not wait in a buffer.
    [Theory]
    [InlineData(RangePlace.InOneMiddleBlock)]
    [InlineData(RangePlace.ToTheEnd)]
    [InlineData(RangePlace.InTheTrailerOnly)]
    public async Task EveryRangeEndsWithItsBytesFlushed(RangePlace place)
    {
        var tar = Tar((3 * BlockSize) + 100);
        var (body, index) = await CompressAsync(tar);
        var secondStart = GzipBlockIndex.HeaderLength + index.CompressedLengths[0];
        var (start, end) = place switch
        {
            RangePlace.InOneMiddleBlock => (secondStart + 1, secondStart + 10),
            RangePlace.ToTheEnd => (secondStart, body.Length),
            _ => (body.Length - 5, body.Length),
        };
        using var output = new FlushRecordingStream();

        await GzipRange.WriteAsync(output, index, Options, start, end, async (pipe, from, to, token) =>
            await pipe.WriteAsync(tar.AsMemory((int)from, (int)(to - from)), token), CancellationToken.None);

        Assert.Equal(end - start, output.Length);
        Assert.Equal(output.Length, output.LengthAtLastFlush);
    }

    [Fact]
    public async Task AMissingIndexOptionsOrTarWriterIsRefused()
    {
        var (_, index) = await CompressAsync(Tar(BlockSize));
        Func<System.IO.Pipelines.PipeWriter, long, long, CancellationToken, Task> writeTar = (_, _, _, _) => Task.CompletedTask;

        await Assert.ThrowsAsync<ArgumentNullException>("index", () => GzipRange.WriteAsync(Stream.Null, null!, Options, 0, 1, writeTar, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentNullException>("options", () => GzipRange.WriteAsync(Stream.Null, index, null!, 0, 1, writeTar, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentNullException>("writeTar", () => GzipRange.WriteAsync(Stream.Null, index, Options, 0, 1, null!, CancellationToken.None));
    }

    [Theory]
    [InlineData(100, 100)]
    [InlineData(100, 99)]
    [InlineData(0, -1)]
    public async Task ARangeThatIsEmptyOrEndsPastTheBodyIsRefused(int start, int endFromBodyEnd)
    {
        var tar = Tar(2 * BlockSize);
        var (body, index) = await CompressAsync(tar);
        var end = endFromBodyEnd < 0 ? body.Length - endFromBodyEnd : endFromBodyEnd;

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => RangeAsync(tar, index, start, end));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Locate(-1));
    }

    [Fact]
    public async Task ATarThatNoLongerMakesTheIndexedBlocksFailsTheRange()
    {
        var tar = Tar(4 * BlockSize);
        var (body, index) = await CompressAsync(tar);
        var changed = tar.ToArray();
        Random.Shared.NextBytes(changed.AsSpan(BlockSize, BlockSize / 2));

        await Assert.ThrowsAsync<InvalidDataException>(() => RangeAsync(changed, index, 0, body.Length));
        await Assert.ThrowsAsync<InvalidDataException>(() => RangeAsync(tar[..(3 * BlockSize)], index, 0, body.Length));
    }

    /// <summary>Where in the body a range lies.</summary>
    public enum RangePlace
    {
        InOneMiddleBlock,
        ToTheEnd,
        InTheTrailerOnly,
    }

    // Half text, half random, so that blocks compress to different lengths.
    private static byte[] Tar(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        for (var i = 0; i < length; i += 2 * 4096)
        {
            bytes.AsSpan(i, Math.Min(4096, length - i)).Fill((byte)('a' + (i / 4096 % 26)));
        }

        return bytes;
    }

    private static async Task<(byte[] Body, GzipBlockIndex Index)> CompressAsync(byte[] tar)
    {
        using var output = new MemoryStream();
        await using var gzip = new BlockGzipStream(output, Options.Gzip.Level, BlockSize, threads: 2);
        await gzip.WriteAsync(tar);
        await gzip.FinishAsync(CancellationToken.None);
        return (output.ToArray(), gzip.Index);
    }

    private static async Task<(byte[] Range, (long From, long To) Asked)> RangeAsync(byte[] tar, GzipBlockIndex index, long start, long end)
    {
        using var output = new MemoryStream();
        (long, long) asked = default;
        await GzipRange.WriteAsync(output, index, Options, start, end, async (pipe, from, to, token) =>
        {
            asked = (from, to);
            var available = (int)Math.Min(to, tar.Length);
            await pipe.WriteAsync(tar.AsMemory((int)from, available - (int)from), token);
        }, CancellationToken.None);
        return (output.ToArray(), asked);
    }
}
