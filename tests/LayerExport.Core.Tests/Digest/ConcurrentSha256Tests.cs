using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Digest;

namespace LayerExport.Core.Tests.Digest;

/// <summary>Hashing on another thread gives the digest of every byte, in order, whatever the write pattern.</summary>
public sealed class ConcurrentSha256Tests
{
    [Theory]
    [InlineData(1)]
    [InlineData(511)]
    [InlineData(ConcurrentSha256.BlockSize)]
    [InlineData(ConcurrentSha256.BlockSize + 3)]
    [InlineData(1024 * 1024)]
    public async Task TheDigestIsSha256OfEveryByteAppended(int piece)
    {
        var data = RandomBytes(5 * ConcurrentSha256.BlockSize + 12345, seed: piece);
        using var sha = new ConcurrentSha256();
        for (var offset = 0; offset < data.Length; offset += piece)
        {
            sha.Append(data.AsSpan(offset, Math.Min(piece, data.Length - offset)));
        }

        Assert.Equal(SHA256.HashData(data), await sha.GetCurrentHashAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ADigestTakenMidwayLeavesTheHashGoingOn()
    {
        var data = RandomBytes(3 * ConcurrentSha256.BlockSize + 7, seed: 2);
        var cut = ConcurrentSha256.BlockSize + 100;
        using var sha = new ConcurrentSha256();
        sha.Append(data.AsSpan(0, cut));
        Assert.Equal(SHA256.HashData(data.AsSpan(0, cut)), await sha.GetCurrentHashAsync(CancellationToken.None));
        sha.Append(data.AsSpan(cut));
        Assert.Equal(SHA256.HashData(data), await sha.GetCurrentHashAsync(CancellationToken.None));
    }

    [Fact]
    public async Task TheWriterWaitsUntilTheBacklogIsWithinTheLimit()
    {
        using var sha = new ConcurrentSha256();
        sha.Append(RandomBytes(64 * ConcurrentSha256.BlockSize, seed: 3));
        await sha.WaitForBacklogAsync(ConcurrentSha256.MaxPendingAtFlush, CancellationToken.None);
        Assert.True(sha.PendingBytes <= ConcurrentSha256.MaxPendingAtFlush, $"{sha.PendingBytes} bytes still pending");
    }

    [Fact]
    public async Task OneBlockWaitsForASecondOrForSomeoneAskingBeforeItIsHashed()
    {
        var data = RandomBytes(ConcurrentSha256.BlockSize, seed: 6);
        using var sha = new ConcurrentSha256();
        sha.Append(data);
        await sha.WaitForBacklogAsync(ConcurrentSha256.MaxPendingAtFlush, CancellationToken.None);
        Assert.Equal(ConcurrentSha256.BlockSize, sha.PendingBytes);
        await sha.WaitForBacklogAsync(0, CancellationToken.None);
        Assert.Equal(0, sha.PendingBytes);
        Assert.Equal(SHA256.HashData(data), await sha.GetCurrentHashAsync(CancellationToken.None));
    }

    [Fact]
    public async Task TwoWaitsAtOnceBothEndOnceTheHashHasCaughtUp()
    {
        using var sha = new ConcurrentSha256();
        sha.Append(RandomBytes(8 * ConcurrentSha256.BlockSize, seed: 7));

        var first = sha.WaitForBacklogAsync(0, CancellationToken.None).AsTask();
        await sha.WaitForBacklogAsync(0, CancellationToken.None);

        // Both wait for the same moment; the second must not leave the first waiting forever.
        Assert.True(first.IsCompletedSuccessfully);
    }

    [Fact]
    public void DisposingWhileBlocksAreQueuedIsSafeOnceAndFinal()
    {
        var sha = new ConcurrentSha256();
        sha.Append(RandomBytes(32 * ConcurrentSha256.BlockSize, seed: 4));
        sha.Dispose();
        sha.Dispose();
        Assert.Throws<ObjectDisposedException>(() => sha.Append([1]));
    }

    [Fact]
    public async Task APipeWriterHashesWhatItPassesOnAndWaitsForTheHashAtFlush()
    {
        var data = RandomBytes(700_001, seed: 5);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        using var writer = new HashingPipeWriter(pipe.Writer);
        for (var offset = 0; offset < data.Length;)
        {
            var memory = writer.GetMemory(1);
            var count = Math.Min(memory.Length, Math.Min(9_999, data.Length - offset));
            data.AsMemory(offset, count).CopyTo(memory);
            writer.Advance(count);
            offset += count;
            await writer.FlushAsync();
        }

        await writer.CompleteAsync();
        Assert.Equal(LayerDigest.FromHash(SHA256.HashData(data)), await writer.GetDigestAsync(CancellationToken.None));
        Assert.Equal(data.Length, writer.Length);
        var passed = await pipe.Reader.ReadAtLeastAsync(data.Length + 1);
        Assert.Equal(data, passed.Buffer.ToArray());
    }

    // What bounds the copies one export holds: a flush returns only once the hash has nearly caught up, however much
    // was written since the last one (copying runs about ten times faster than hashing).
    [Fact]
    public async Task AFlushOfTheWriterLeavesAtMostTwoBlocksUnhashedHoweverMuchCameBeforeIt()
    {
        var data = RandomBytes(8 * 1024 * 1024, seed: 6);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        using var writer = new HashingPipeWriter(pipe.Writer);
        for (var round = 0; round < 4; round++)
        {
            data.CopyTo(writer.GetMemory(data.Length));
            writer.Advance(data.Length);
            await writer.FlushAsync();

            Assert.InRange(writer.PendingBytes, 0, ConcurrentSha256.MaxPendingAtFlush);
            var sent = await pipe.Reader.ReadAsync();
            pipe.Reader.AdvanceTo(sent.Buffer.End);
        }

        await writer.CompleteAsync();
        Assert.Equal(4L * data.Length, writer.Length);
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
