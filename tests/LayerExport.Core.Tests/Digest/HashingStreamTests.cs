using System.IO.Hashing;
using System.Security.Cryptography;
using LayerExport.Core.Digest;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Digest;

/// <summary>The sent body's digest and length: every byte passed on, by any write, is hashed and counted once.</summary>
public sealed class HashingStreamTests
{
    [Fact]
    public async Task EveryKindOfWriteIsPassedOnHashedAndCounted()
    {
        var data = new byte[10_000];
        new Random(9).NextBytes(data);
        var inner = new FlushRecordingStream();
        await using var hashing = new HashingStream(inner);

        hashing.Write(data, 0, 1000);
        hashing.Write(data.AsSpan(1000, 2000));
        await hashing.WriteAsync(data.AsMemory(3000, 7000));

        Assert.Equal(data, inner.ToArray());
        Assert.Equal(data.Length, hashing.BytesWritten);
        Assert.Equal(LayerDigest.FromHash(SHA256.HashData(data)), hashing.CurrentDigest);
        Assert.Equal(XxHash128.HashToUInt128(data), hashing.Checksum);
    }

    // A body held to its kept check takes its XXH3-128 alone: asked for a SHA-256 it never took, it refuses.
    [Fact]
    public async Task WithoutSha256OnlyTheChecksumIsTaken()
    {
        var data = new byte[10_000];
        new Random(10).NextBytes(data);
        var inner = new FlushRecordingStream();
        await using var hashing = new HashingStream(inner, hashes: false);

        hashing.Write(data.AsSpan(0, 4000));
        await hashing.WriteAsync(data.AsMemory(4000));

        Assert.False(hashing.Hashes);
        Assert.Equal(data, inner.ToArray());
        Assert.Equal(data.Length, hashing.BytesWritten);
        Assert.Equal(XxHash128.HashToUInt128(data), hashing.Checksum);
        Assert.Throws<InvalidOperationException>(() => hashing.CurrentDigest);
    }

    [Fact]
    public async Task FlushesReachTheInnerStream()
    {
        var inner = new FlushRecordingStream();
        await using var hashing = new HashingStream(inner);

        hashing.Flush();
        await hashing.FlushAsync(CancellationToken.None);

        Assert.Equal(2, inner.Flushes);
    }

    [Fact]
    public void ItIsWriteOnly()
    {
        using var hashing = new HashingStream(new MemoryStream());

        Assert.False(hashing.CanRead);
        Assert.False(hashing.CanSeek);
        Assert.True(hashing.CanWrite);
    }
}
