using System.ComponentModel.DataAnnotations;
using LayerExport.Core.Compression;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The codec defaults are part of every compressed digest; the thread count is one per core unless set.</summary>
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
    public void TheEffectiveThreadsAreTheSetCountOrOnePerCore(int threads, bool set)
    {
        var options = new CompressionOptions { Threads = threads };

        Assert.Equal(set ? threads : Environment.ProcessorCount, options.EffectiveThreads);
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
