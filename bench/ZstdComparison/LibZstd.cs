using System.Runtime.InteropServices;

namespace ZstdComparison;

/// <summary>The few libzstd.so.1 functions the comparison needs (zstd.h, stable API since 1.4).</summary>
internal static partial class LibZstd
{
    public const int CompressionLevel = 100;
    public const int ChecksumFlag = 201;
    public const int NbWorkers = 400;
    public const int Continue = 0;
    public const int EndFrame = 2;

    private const string Library = "libzstd.so.1";

    public static string Version => Marshal.PtrToStringUTF8(ZSTD_versionString()) ?? "?";

    public static nuint Check(nuint code) =>
        ZSTD_isError(code) != 0 ? throw new InvalidOperationException(Marshal.PtrToStringUTF8(ZSTD_getErrorName(code))) : code;

    [LibraryImport(Library)]
    public static partial nint ZSTD_createCCtx();

    [LibraryImport(Library)]
    public static partial nuint ZSTD_freeCCtx(nint context);

    [LibraryImport(Library)]
    public static partial nuint ZSTD_CCtx_setParameter(nint context, int parameter, int value);

    [LibraryImport(Library)]
    public static partial nuint ZSTD_compressStream2(nint context, ref OutBuffer output, ref InBuffer input, int directive);

    [LibraryImport(Library)]
    private static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Library)]
    private static partial nint ZSTD_getErrorName(nuint code);

    [LibraryImport(Library)]
    private static partial nint ZSTD_versionString();

    [StructLayout(LayoutKind.Sequential)]
    public struct InBuffer
    {
        public nint Source;
        public nuint Size;
        public nuint Position;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct OutBuffer
    {
        public nint Destination;
        public nuint Size;
        public nuint Position;
    }
}
