using LayerExport.Core.Compression;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Compression;

/// <summary>A window passes on exactly its bytes, however the body is cut into writes, and holds back its last byte when asked.</summary>
public sealed class WindowStreamTests
{
    private static readonly byte[] Body = [.. Enumerable.Range(0, 40).Select(i => (byte)i)];

    [Theory]
    [InlineData(0, 40)]
    [InlineData(0, 1)]
    [InlineData(5, 10)]
    [InlineData(39, 1)]
    [InlineData(12, 28)]
    public async Task PassesOnTheWindowWhateverTheWriteSizes(int skip, int take)
    {
        foreach (var chunk in new[] { 1, 3, 7, 40 })
        {
            using var output = new MemoryStream();
            var window = new WindowStream(output, skip, take);

            foreach (var part in Body.Chunk(chunk))
            {
                await window.WriteAsync(part);
            }

            Assert.Equal(Body[skip..(skip + take)], output.ToArray());
        }
    }

    [Theory]
    [InlineData(0, 40)]
    [InlineData(5, 10)]
    [InlineData(39, 1)]
    public void TheSynchronousWritesPassOnTheSameWindow(int skip, int take)
    {
        foreach (var chunk in new[] { 1, 7, 40 })
        {
            using var output = new MemoryStream();
            var window = new WindowStream(output, skip, take);

            foreach (var part in Body.Chunk(chunk))
            {
                window.Write(part, 0, part.Length);
            }

            Assert.Equal(Body[skip..(skip + take)], output.ToArray());
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(40)]
    public async Task TheLastByteComesOnlyWithTheRelease(int chunk)
    {
        using var output = new MemoryStream();
        var window = new WindowStream(output, 5, 10, holdLastByte: true);

        foreach (var part in Body.Chunk(chunk))
        {
            await window.WriteAsync(part);
        }

        Assert.Equal(Body[5..14], output.ToArray());
        await window.ReleaseAsync(CancellationToken.None);
        Assert.Equal(Body[5..15], output.ToArray());
    }

    [Fact]
    public void SynchronousWritesHoldTheLastByteToo()
    {
        using var output = new MemoryStream();
        var window = new WindowStream(output, 5, 10, holdLastByte: true);

        window.Write(Body, 0, Body.Length);

        Assert.Equal(Body[5..14], output.ToArray());
    }

    [Fact]
    public async Task TheReleaseFlushesSoTheLastByteReachesTheClient()
    {
        var output = new FlushRecordingStream();
        var window = new WindowStream(output, 0, 3, holdLastByte: true);
        await window.WriteAsync(Body.AsMemory(0, 3));

        await window.ReleaseAsync(CancellationToken.None);

        Assert.Equal(1, output.Flushes);
    }

    [Fact]
    public async Task ABodyShorterThanTheWindowHasNothingToRelease()
    {
        using var output = new MemoryStream();
        var window = new WindowStream(output, 5, 10, holdLastByte: true);

        await window.WriteAsync(Body.AsMemory(0, 14));

        await Assert.ThrowsAsync<InvalidOperationException>(() => window.ReleaseAsync(CancellationToken.None));
        Assert.Equal(Body[5..14], output.ToArray());
    }

    [Fact]
    public async Task TheLastByteIsReleasedOnce()
    {
        using var output = new MemoryStream();
        var window = new WindowStream(output, 0, 3, holdLastByte: true);
        await window.WriteAsync(Body.AsMemory(0, 3));
        await window.ReleaseAsync(CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => window.ReleaseAsync(CancellationToken.None));
        Assert.Equal(Body[..3], output.ToArray());
    }

    [Fact]
    public void FlushesReachTheInnerStream()
    {
        var output = new FlushRecordingStream();
        var window = new WindowStream(output, 0, 3);

        window.Flush();

        Assert.Equal(1, output.Flushes);
    }

    [Fact]
    public async Task AsynchronousFlushesReachTheInnerStream()
    {
        var output = new FlushRecordingStream();
        var window = new WindowStream(output, 0, 3);

        await window.FlushAsync(CancellationToken.None);

        Assert.Equal(1, output.Flushes);
    }

    [Fact]
    public void IsAWriteOnlyForwardStream()
    {
        var window = new WindowStream(Stream.Null, 0, 3);

        Assert.True(window.CanWrite);
        Assert.False(window.CanRead);
        Assert.False(window.CanSeek);
    }
}
