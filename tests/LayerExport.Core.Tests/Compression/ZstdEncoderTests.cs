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

    // zstd reports a misuse as an error code, not an exception: unchecked, the call would look like it compressed
    // nothing and the frame would end short of its input.
    [Theory]
    [InlineData(ZstdLibrary.Native, "libzstd")]
    [InlineData(ZstdLibrary.Managed, "zstd")]
    public void AnErrorOfZstdIsThrownWithItsName(ZstdLibrary library, string source)
    {
        using var encoder = ZstdEncoder.Create(library, level: 3, workers: 1);
        var input = new byte[1024 * 1024];
        new Random(7).NextBytes(input);
        var output = new byte[16];
        encoder.Compress(input, output, end: true, out _, out var done);
        Assert.False(done);

        var error = Assert.Throws<InvalidOperationException>(() => encoder.Compress(input, output, end: false, out _, out _));

        Assert.Equal($"{source}: Operation not authorized at current processing stage", error.Message);
    }
}
