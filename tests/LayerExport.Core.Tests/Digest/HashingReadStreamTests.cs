using System.Security.Cryptography;
using LayerExport.Core.Digest;

namespace LayerExport.Core.Tests.Digest;

/// <summary>A tar-split record's digest: every byte read through, by any read, is hashed once, and nothing else.</summary>
public sealed class HashingReadStreamTests
{
    [Fact]
    public async Task EveryKindOfReadIsHashedOnce()
    {
        var data = new byte[10_000];
        new Random(11).NextBytes(data);
        await using var hashing = new HashingReadStream(new MemoryStream(data), leaveOpen: false);
        var read = new byte[data.Length];

        var n = hashing.Read(read, 0, 1000);
        n += hashing.Read(read.AsSpan(n, 2000));
        n += await hashing.ReadAsync(read.AsMemory(n, 7000));

        Assert.Equal(data.Length, n);
        Assert.Equal(data, read);
        Assert.Equal(LayerDigest.FromHash(SHA256.HashData(data)), hashing.CurrentDigest);
    }

    [Fact]
    public async Task BytesAskedForButNotThereAreNotHashed()
    {
        // A read past the end fills only part of the buffer; stale bytes in the rest must not count.
        var data = new byte[] { 1, 2, 3 };
        await using var hashing = new HashingReadStream(new MemoryStream(data), leaveOpen: false);
        var buffer = Enumerable.Repeat((byte)0xEE, 16).ToArray();

        Assert.Equal(2, hashing.Read(buffer, 0, 2));
        Assert.Equal(1, await hashing.ReadAsync(buffer.AsMemory(2, 14)));
        Assert.Equal(0, hashing.Read(buffer.AsSpan(3)));
        Assert.Equal(0, await hashing.ReadAsync(buffer.AsMemory(3)));

        Assert.Equal(LayerDigest.FromHash(SHA256.HashData(data)), hashing.CurrentDigest);
    }

    [Fact]
    public void ItIsReadOnlyAndCannotSeek()
    {
        using var hashing = new HashingReadStream(new MemoryStream(), leaveOpen: false);

        Assert.True(hashing.CanRead);
        Assert.False(hashing.CanSeek);
        Assert.False(hashing.CanWrite);
        Assert.Throws<NotSupportedException>(() => hashing.Write([1], 0, 1));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheInnerStreamIsClosedUnlessLeftOpen(bool leaveOpen)
    {
        var inner = new MemoryStream([1, 2, 3]);

        new HashingReadStream(inner, leaveOpen).Dispose();

        Assert.Equal(leaveOpen, inner.CanRead);
    }
}
