using System.ComponentModel.DataAnnotations;
using LayerExport.Core.Compression;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The codec defaults are part of every compressed digest; the thread count is one per core, at most four, unless set.</summary>
public sealed class CompressionOptionsTests
{
    [Fact]
    public void TheDefaultsAreTheDocumentedOnes()
    {
        var options = new CompressionOptions();

        Assert.Equal("Export", CompressionOptions.SectionName);
        Assert.Equal(2, options.Gzip.Level);
        Assert.Equal(1024 * 1024, options.Gzip.BlockSize);
        Assert.Equal(3, options.Zstd.Level);
        Assert.Equal(ZstdLibrary.Auto, options.Zstd.Library);
        Assert.Equal(0, options.Threads);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(3, true)]
    [InlineData(256, true)]
    public void TheEffectiveThreadsAreTheSetCountOrOnePerCoreUpToFour(int threads, bool set)
    {
        var options = new CompressionOptions { Threads = threads };

        Assert.Equal(set ? threads : Math.Min(Environment.ProcessorCount, 4), options.EffectiveThreads);
    }

    // A zstd worker's jobs cost tens of MB: one per core of a large machine would multiply every export's memory.
    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(0, 2, 2)]
    [InlineData(0, 4, 4)]
    [InlineData(0, 5, 4)]
    [InlineData(0, 128, 4)]
    [InlineData(8, 2, 8)]
    [InlineData(256, 128, 256)]
    public void UnsetTheThreadsAreOnePerCoreButNeverMoreThanFourWhileASetCountIsTakenAsItIs(int threads, int cores, int used)
    {
        var options = new CompressionOptions { Threads = threads };

        Assert.Equal(used, options.ThreadsOn(cores));
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(256, true)]
    [InlineData(257, false)]
    public void TheThreadCountIsValidatedFromZeroTo256(int threads, bool valid)
    {
        var options = new CompressionOptions { Threads = threads };

        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), null, validateAllProperties: true));
    }
}
