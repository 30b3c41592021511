using System.IO.Pipelines;
using System.Text;
using LayerExport.Core.Compression;
using ZstdSharp;

namespace LayerExport.Core.Tests.Compression;

/// <summary>Flushes of the pipe a zstd body goes to leave its bytes as they are.</summary>
public class ZstdStageFlushTests
{
    private const int FlushEvery = 64 * 1024;

    [Fact]
    public async Task PipeFlushesDoNotChangeTheZstdBytes()
    {
        var tar = CompressibleBytes(4 * 1024 * 1024);

        var unflushed = await CompressAsync(tar, flushEachChunk: false);
        var flushed = await CompressAsync(tar, flushEachChunk: true);

        Assert.Equal(unflushed, flushed);
        using var decompressor = new Decompressor();
        Assert.Equal(tar, decompressor.Unwrap(flushed).ToArray());
    }

    private static async Task<byte[]> CompressAsync(byte[] tar, bool flushEachChunk)
    {
        var output = new MemoryStream();
        await using (var stage = CompressionStage.Create(LayerCompression.Zstd, output, new CompressionOptions { Threads = 2 }))
        {
            // The way PreparedExport feeds a compressor: a pipe over the stage's input, flushed as the tar writer flushes.
            var pipe = PipeWriter.Create(stage.Input, new StreamPipeWriterOptions(leaveOpen: true));
            for (var offset = 0; offset < tar.Length; offset += FlushEvery)
            {
                var chunk = tar.AsMemory(offset, Math.Min(FlushEvery, tar.Length - offset));
                if (flushEachChunk)
                {
                    await pipe.WriteAsync(chunk);
                }
                else
                {
                    chunk.Span.CopyTo(pipe.GetSpan(chunk.Length));
                    pipe.Advance(chunk.Length);
                }
            }

            await pipe.CompleteAsync();
            await stage.FinishAsync(CancellationToken.None);
        }

        return output.ToArray();
    }

    private static byte[] CompressibleBytes(int length)
    {
        var random = new Random(7);
        var text = new StringBuilder(length + 100);
        while (text.Length < length)
        {
            text.Append("entry ").Append(random.Next(100_000)).Append(" level=").Append(random.Next(5)).Append(" path=/usr/lib/").Append(random.Next(3000)).Append('\n');
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }
}
