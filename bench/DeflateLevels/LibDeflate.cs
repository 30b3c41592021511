using System.Runtime.InteropServices;

/// <summary>Debian's libdeflate (package libdeflate0), each block deflated whole as our block gzip cuts them.</summary>
/// <remarks>Only the deflate output is counted: a gzip member's 18 bytes a block would not change a comparison.</remarks>
internal static partial class LibDeflate
{
    private const string Library = "libdeflate.so.0";

    public static long Compress(Stream input, int level, int blockSize)
    {
        var compressor = AllocCompressor(level);
        if (compressor == 0)
        {
            throw new InvalidOperationException($"libdeflate has no level {level}");
        }

        try
        {
            var block = new byte[blockSize];
            var output = new byte[(int)CompressBound(compressor, (nuint)blockSize)];
            var total = 0L;
            int length;
            while ((length = input.ReadAtLeast(block, block.Length, throwOnEndOfStream: false)) > 0)
            {
                total += (long)DeflateCompress(compressor, block, (nuint)length, output, (nuint)output.Length);
            }

            return total;
        }
        finally
        {
            FreeCompressor(compressor);
        }
    }

    [LibraryImport(Library, EntryPoint = "libdeflate_alloc_compressor")]
    private static partial nint AllocCompressor(int level);

    [LibraryImport(Library, EntryPoint = "libdeflate_deflate_compress_bound")]
    private static partial nuint CompressBound(nint compressor, nuint length);

    [LibraryImport(Library, EntryPoint = "libdeflate_deflate_compress")]
    private static partial nuint DeflateCompress(nint compressor, ReadOnlySpan<byte> input, nuint inputLength, Span<byte> output, nuint outputLength);

    [LibraryImport(Library, EntryPoint = "libdeflate_free_compressor")]
    private static partial void FreeCompressor(nint compressor);
}
