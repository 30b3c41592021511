using LayerExport.Core.Compression;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The pooled buffer stream keeps every byte in order until frozen.</summary>
public class PooledBufferStreamTests
{
    [Fact]
    public void WritesBeyondTheInitialCapacityKeepEveryByteInOrder()
    {
        var bytes = new byte[5000];
        new Random(3).NextBytes(bytes);
        using var stream = new PooledBufferStream(16);

        // Deflate's worst case is sized for, yet a block larger than foreseen must still come out whole.
        stream.Write(bytes, 0, 10);
        stream.Write(bytes, 10, 30);
        stream.Write(bytes, 40, bytes.Length - 40);

        Assert.Equal(bytes.Length, stream.FrozenOrWrittenLength);
        Assert.Equal(bytes, stream.Buffer.AsSpan(0, stream.FrozenOrWrittenLength).ToArray());
    }

    [Fact]
    public void WritesAfterFreezingAreDropped()
    {
        using var stream = new PooledBufferStream(16);
        stream.Write([1, 2, 3], 0, 3);

        stream.Freeze();
        stream.Write(new byte[100], 0, 100);

        // What disposing the compressor writes after the sync flush (the end-of-stream marker) is not part of the block.
        Assert.Equal(3, stream.FrozenOrWrittenLength);
        Assert.Equal(3, stream.Length);
        Assert.Equal(new byte[] { 1, 2, 3 }, stream.Buffer.AsSpan(0, 3).ToArray());
    }

    [Fact]
    public void ItIsAWriteOnlyStream()
    {
        using var stream = new PooledBufferStream(16);

        Assert.True(stream.CanWrite);
        Assert.False(stream.CanRead);
        Assert.False(stream.CanSeek);
    }
}
