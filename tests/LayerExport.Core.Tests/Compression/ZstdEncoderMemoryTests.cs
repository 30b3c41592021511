using LayerExport.Core.Compression;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Compression;

/// <summary>A disposed zstd encoder, native or managed, gives its context's memory back at once; alone, as the C heap is process-wide.</summary>
[Collection(SerialTests.Name)]
public sealed class ZstdEncoderMemoryTests
{
    // With workers libzstd holds job buffers, some 50 MB a context at level 3, until it is freed: an export that
    // left them to a finalizer, or never freed them, would grow the server by that much per zstd download. The managed
    // port allocates its context from the same C heap.
    [Theory]
    [InlineData(ZstdLibrary.Native)]
    [InlineData(ZstdLibrary.Managed)]
    public void ADisposedEncoderFreesItsContext(ZstdLibrary library)
    {
        var input = new byte[4 * 1024 * 1024];
        new Random(5).NextBytes(input.AsSpan(0, input.Length / 2));
        var output = new byte[ZstdStage.OutputBufferSize];
        // Kept reachable, so that no finalizer frees a context Dispose left behind.
        var encoders = new List<ZstdEncoder>();
        var before = Posix.NativeHeapInUse();
        var perContext = 0L;
        for (var i = 0; i < 4; i++)
        {
            var encoder = ZstdEncoder.Create(library, level: 3, workers: 2);
            encoders.Add(encoder);
            CompressAll(encoder, input, output);
            if (i == 0)
            {
                perContext = Posix.NativeHeapInUse() - before;
            }

            encoder.Dispose();
        }

        var left = Posix.NativeHeapInUse() - before;

        Assert.True(perContext > 4 * 1024 * 1024, $"a context in use holds {perContext} bytes");
        Assert.True(left < perContext / 2, $"{left} bytes left after 4 contexts of {perContext} bytes were disposed");
        GC.KeepAlive(encoders);
    }

    private static void CompressAll(ZstdEncoder encoder, ReadOnlySpan<byte> input, byte[] output)
    {
        while (!input.IsEmpty)
        {
            encoder.Compress(input, output, end: false, out var consumed, out _);
            input = input[consumed..];
        }

        bool done;
        do
        {
            encoder.Compress([], output, end: true, out _, out done);
        }
        while (!done);
    }
}
