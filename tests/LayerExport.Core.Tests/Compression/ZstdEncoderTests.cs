using LayerExport.Core.Compression;

namespace LayerExport.Core.Tests.Compression;

/// <summary>Each zstd implementation compresses at the configured level, and the native one stays in use at every level.</summary>
public sealed class ZstdEncoderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(19)]
    public void TheNativeLibraryIsUsedAtEveryLevelNotOnlyTheDefault(int level)
    {
        // Resolve falls back to the managed port in silence wherever the two differ on the sample: a level that one
        // of them did not take would leave the native library unused at every level but the default.
        var implementation = ZstdImplementation.Resolve(new ZstdOptions { Level = level });

        Assert.True(implementation.Library == ZstdLibrary.Native, implementation.NativeUnavailable);
    }

    [Theory]
    [InlineData(ZstdLibrary.Native)]
    [InlineData(ZstdLibrary.Managed)]
    public void TheLevelChangesTheBytes(ZstdLibrary library)
    {
        var fastest = ZstdImplementation.CompressSample(library, 1);
        var standard = ZstdImplementation.CompressSample(library, 3);
        var smallest = ZstdImplementation.CompressSample(library, 19);

        Assert.False(fastest.AsSpan().SequenceEqual(standard));
        Assert.False(smallest.AsSpan().SequenceEqual(standard));
    }
}
