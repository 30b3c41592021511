using LayerExport.Core.Compression;
using LayerExport.Core.Native;
using ZstdSharp;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The native libzstd shipped with the server is used, and only because it emits the managed port's bytes.</summary>
public class ZstdImplementationTests
{
    private const string Text = "usr/lib/python3/dist-packages/ import os, sys\n";

    [Fact]
    public void AutoPicksTheShippedNativeLibraryOfTheManagedPortsVersion()
    {
        var implementation = ZstdImplementation.Resolve(new ZstdOptions());

        Assert.True(implementation.Library == ZstdLibrary.Native, implementation.NativeUnavailable);
        Assert.Equal(ZstdSharp.Unsafe.Methods.ZSTD_versionNumber(), LibZstd.VersionNumber);
        Assert.StartsWith(AppContext.BaseDirectory, LibZstd.Path, StringComparison.Ordinal);
        Assert.Contains("native libzstd 1.5.7", implementation.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void ManagedIsTheManagedPortWhateverIsInstalled()
    {
        var implementation = ZstdImplementation.Resolve(new ZstdOptions { Library = ZstdLibrary.Managed });

        Assert.Equal(ZstdLibrary.Managed, implementation.Library);
        Assert.Null(implementation.NativeUnavailable);
        Assert.Contains("managed ZstdSharp.Port (zstd 1.5.7)", implementation.Description, StringComparison.Ordinal);
    }

    // The check compares the two implementations only where the sample takes them: the match finder over text, and
    // the raw blocks of bytes that do not compress.
    [Fact]
    public void TheStartUpSampleIsTextLinesThenBytesThatDoNotCompress()
    {
        var sample = ZstdImplementation.Sample();
        var text = sample.AsSpan(0, sample.Length - (64 * 1024));
        var noise = sample.AsSpan(text.Length);
        using var compressor = new Compressor(3);

        Assert.True(text.Length >= 192 * 1024, $"{text.Length} bytes of text");
        Assert.Equal((byte)'\n', text[^1]);
        Assert.DoesNotContain(text.ToArray(), b => b is not ((byte)'\n' or (>= 0x20 and < 0x7f)));
        Assert.True(compressor.Wrap(text).Length < text.Length / 4, "the text does not compress");
        Assert.True(compressor.Wrap(noise).Length > noise.Length, "the noise compresses");
    }

    // A check that compressed the sample in one call would tell zstd its size: one thread, settings cut to fit, other
    // bytes than any download's.
    [Theory]
    [InlineData(ZstdLibrary.Native)]
    [InlineData(ZstdLibrary.Managed)]
    public async Task TheStartUpCheckCompressesItsSampleAsTheStageDoes(ZstdLibrary library)
    {
        var checkedBytes = ZstdImplementation.CompressSample(library, level: 3);

        var staged = await CompressAsync(ZstdImplementation.Sample(), library, level: 3, workers: 1);

        Assert.Equal(staged, checkedBytes);
    }

    // Level 3 cuts 8 MiB jobs and level 1 2 MiB ones: 20 MiB gives each several jobs for the workers to share.
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    [InlineData(9, 2)]
    public async Task NativeAndManagedStagesEmitTheSameBytes(int level, int workers)
    {
        var tar = LayerLikeBytes(20 * 1024 * 1024);

        var native = await CompressAsync(tar, ZstdLibrary.Native, level, workers);
        var managed = await CompressAsync(tar, ZstdLibrary.Managed, level, workers);

        Assert.True(native.AsSpan().SequenceEqual(managed), $"native {native.Length} bytes, managed {managed.Length} bytes");
        using var decompressor = new Decompressor();
        Assert.True(decompressor.Unwrap(native).SequenceEqual(tar));
    }

    private static async Task<byte[]> CompressAsync(byte[] tar, ZstdLibrary library, int level, int workers)
    {
        var output = new MemoryStream();
        var options = new CompressionOptions { Threads = workers, Zstd = { Level = level, Library = library } };
        await using (var stage = CompressionStage.Create(LayerCompression.Zstd, output, options))
        {
            for (var offset = 0; offset < tar.Length; offset += 100_000)
            {
                await stage.Input.WriteAsync(tar.AsMemory(offset, Math.Min(100_000, tar.Length - offset)));
            }

            await stage.FinishAsync(CancellationToken.None);
        }

        return output.ToArray();
    }

    // Runs of text, random bytes (stored as raw blocks) and zeros, like files in a layer.
    private static byte[] LayerLikeBytes(int length)
    {
        var bytes = new byte[length];
        var random = new Random(11);
        var offset = 0;
        while (offset < length)
        {
            var run = Math.Min(length - offset, random.Next(4096, 512 * 1024));
            var span = bytes.AsSpan(offset, run);
            switch (random.Next(3))
            {
                case 0:
                    for (var i = 0; i < run; i++)
                    {
                        span[i] = (byte)Text[((i * 7) + (i / 61)) % Text.Length];
                    }

                    break;
                case 1:
                    random.NextBytes(span);
                    break;
            }

            offset += run;
        }

        return bytes;
    }
}
