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
