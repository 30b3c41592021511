using System.Security.Cryptography;
using System.Text;
using LayerExport.Core.Compression;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The compression stage: the same bytes whatever the thread count, readable by the reference tools, never valid unfinished.</summary>
public class CompressionStageTests
{
    // Several 64 KiB blocks of mixed incompressible and text data, not a multiple of the block size.
    private static readonly byte[] Input = MakeInput();

    private static CompressionOptions Options(int threads) => new()
    {
        Threads = threads,
        Gzip = new GzipOptions { Level = 4, BlockSize = 64 * 1024 },
        Zstd = new ZstdOptions { Level = 3 },
    };

    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task OutputIsTheSameWhateverTheThreadCount(LayerCompression compression)
    {
        var one = await CompressAsync(compression, Options(1), finish: true);
        var two = await CompressAsync(compression, Options(2), finish: true);
        var eight = await CompressAsync(compression, Options(8), finish: true);

        Assert.Equal(Convert.ToHexString(SHA256.HashData(one)), Convert.ToHexString(SHA256.HashData(two)));
        Assert.Equal(Convert.ToHexString(SHA256.HashData(one)), Convert.ToHexString(SHA256.HashData(eight)));
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, "gzip")]
    [InlineData(LayerCompression.Zstd, "zstd")]
    public async Task TheReferenceToolDecompressesItToTheInput(LayerCompression compression, string tool)
    {
        var compressed = await CompressAsync(compression, Options(2), finish: true);

        var test = await ExternalTool.RunAsync(tool, compressed, "-t");
        var decompressed = await ExternalTool.RunAsync(tool, compressed, "-dc");

        Assert.True(test.ExitCode == 0, test.Stderr);
        Assert.Equal(0, decompressed.ExitCode);
        Assert.True(decompressed.Stdout.AsSpan().SequenceEqual(Input), "decompressed bytes differ from the input");
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, "gzip")]
    [InlineData(LayerCompression.Zstd, "zstd")]
    public async Task AnUnfinishedStreamIsNotAValidArchive(LayerCompression compression, string tool)
    {
        var unfinished = await CompressAsync(compression, Options(2), finish: false);

        var test = await ExternalTool.RunAsync(tool, unfinished, "-t");

        Assert.NotEqual(0, test.ExitCode);
    }

    [Fact]
    public async Task GzipHeaderCarriesNoNameNoTimeAndAFixedOperatingSystem()
    {
        var compressed = await CompressAsync(LayerCompression.Gzip, Options(2), finish: true);

        // ID1 ID2 CM=deflate FLG=0, MTIME=0, XFL=0, OS=255 (unknown).
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 }, compressed[..10]);
    }

    [Fact]
    public async Task EmptyInputIsAValidEmptyGzip()
    {
        using var output = new MemoryStream();
        await using (var stage = CompressionStage.Create(LayerCompression.Gzip, output, Options(2)))
        {
            await stage.FinishAsync(CancellationToken.None);
        }

        var decompressed = await ExternalTool.RunAsync("gzip", output.ToArray(), "-dc");
        Assert.Equal(0, decompressed.ExitCode);
        Assert.Empty(decompressed.Stdout);
    }

    [Fact]
    public async Task InputOfExactlyWholeBlocksEndsWithAFinalBlock()
    {
        var exact = new byte[3 * 64 * 1024];
        new Random(7).NextBytes(exact);
        using var output = new MemoryStream();
        await using (var stage = CompressionStage.Create(LayerCompression.Gzip, output, Options(2)))
        {
            await stage.Input.WriteAsync(exact);
            await stage.FinishAsync(CancellationToken.None);
        }

        var decompressed = await ExternalTool.RunAsync("gzip", output.ToArray(), "-dc");
        Assert.Equal(0, decompressed.ExitCode);
        Assert.True(decompressed.Stdout.AsSpan().SequenceEqual(exact));
    }

    [Fact]
    public async Task GzipBlocksAreIndependentSoOneBlockSizeGivesOneOutputEverywhere()
    {
        var small = await CompressAsync(LayerCompression.Gzip, Options(2), finish: true);
        var largerBlocks = Options(2);
        largerBlocks.Gzip.BlockSize = 256 * 1024;

        var large = await CompressAsync(LayerCompression.Gzip, largerBlocks, finish: true);

        // The block size is part of the representation: it changes the bytes (and so the digest).
        Assert.False(small.AsSpan().SequenceEqual(large));
    }

    [Fact]
    public void AnUncompressedRepresentationHasNoStage()
    {
        // The plain tar is written by the export itself; asking for its stage is a caller's mistake, named as such.
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => CompressionStage.Create(LayerCompression.None, Stream.Null, Options(1)));

        Assert.Equal("compression", refused.ParamName);
        Assert.StartsWith("Not a compressed representation.", refused.Message, StringComparison.Ordinal);
    }

    private static async Task<byte[]> CompressAsync(LayerCompression compression, CompressionOptions options, bool finish)
    {
        using var output = new MemoryStream();
        await using (var stage = CompressionStage.Create(compression, output, options))
        {
            // Odd-sized writes, as a pipe hands them over.
            for (var offset = 0; offset < Input.Length; offset += 10_007)
            {
                await stage.Input.WriteAsync(Input.AsMemory(offset, Math.Min(10_007, Input.Length - offset)));
            }

            if (finish)
            {
                await stage.FinishAsync(CancellationToken.None);
            }
        }

        return output.ToArray();
    }

    private static byte[] MakeInput()
    {
        var random = new Random(42);
        var bytes = new List<byte>();
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 4000).Select(i => $"line {i} of a log-like layer file\n")));
        for (var i = 0; i < 6; i++)
        {
            var noise = new byte[50_000];
            random.NextBytes(noise);
            bytes.AddRange(noise);
            bytes.AddRange(text);
        }

        return [.. bytes];
    }
}
