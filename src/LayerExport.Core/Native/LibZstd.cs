using System.Runtime.InteropServices;

namespace LayerExport.Core.Native;

/// <summary>The libzstd shipped with the application, loaded by path; <see cref="Unavailable"/> says why it cannot be used.</summary>
/// <remarks>
/// The ZstdNet package carries a pinned libzstd build for each runtime identifier. It is looked for only in the
/// application's own native directories, never by name, so a distribution's libzstd (another version, other bytes)
/// is never picked up; and it is used only when it is the zstd version that the managed port carries.
/// </remarks>
internal static unsafe class LibZstd
{
    /// <summary><c>ZSTD_c_compressionLevel</c>.</summary>
    public const int CompressionLevel = 100;

    /// <summary><c>ZSTD_c_checksumFlag</c>.</summary>
    public const int ChecksumFlag = 201;

    /// <summary><c>ZSTD_c_nbWorkers</c>.</summary>
    public const int NbWorkers = 400;

    /// <summary><c>ZSTD_e_continue</c>.</summary>
    public const int Continue = 0;

    /// <summary><c>ZSTD_e_end</c>.</summary>
    public const int End = 2;

    private static readonly delegate* unmanaged<nint> s_createCCtx;
    private static readonly delegate* unmanaged<nint, nuint> s_freeCCtx;
    private static readonly delegate* unmanaged<nint, int, int, nuint> s_setParameter;
    private static readonly delegate* unmanaged<nint, Buffer*, Buffer*, int, nuint> s_compressStream2;
    private static readonly delegate* unmanaged<nuint, uint> s_isError;
    private static readonly delegate* unmanaged<nuint, byte*> s_getErrorName;

    static LibZstd()
    {
        var fileName = OperatingSystem.IsWindows() ? "libzstd.dll" : OperatingSystem.IsMacOS() ? "libzstd.dylib" : "libzstd.so";
        Path = NativeDirectories().Select(directory => System.IO.Path.Combine(directory, fileName)).FirstOrDefault(File.Exists);
        if (Path is null)
        {
            Unavailable = $"{fileName} is not among the application's native libraries (no build of the ZstdNet package for {RuntimeInformation.RuntimeIdentifier})";
            return;
        }

        if (!NativeLibrary.TryLoad(Path, out var library))
        {
            Unavailable = $"{Path} does not load on this system";
            return;
        }

        if (!NativeLibrary.TryGetExport(library, "ZSTD_versionNumber", out var versionNumber))
        {
            Unavailable = $"{Path} is not a libzstd";
            return;
        }

        VersionNumber = ((delegate* unmanaged<uint>)versionNumber)();
        s_createCCtx = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "ZSTD_createCCtx");
        s_freeCCtx = (delegate* unmanaged<nint, nuint>)NativeLibrary.GetExport(library, "ZSTD_freeCCtx");
        s_setParameter = (delegate* unmanaged<nint, int, int, nuint>)NativeLibrary.GetExport(library, "ZSTD_CCtx_setParameter");
        s_compressStream2 = (delegate* unmanaged<nint, Buffer*, Buffer*, int, nuint>)NativeLibrary.GetExport(library, "ZSTD_compressStream2");
        s_isError = (delegate* unmanaged<nuint, uint>)NativeLibrary.GetExport(library, "ZSTD_isError");
        s_getErrorName = (delegate* unmanaged<nuint, byte*>)NativeLibrary.GetExport(library, "ZSTD_getErrorName");
    }

    /// <summary>Where the library was found, if it was.</summary>
    public static string? Path { get; }

    /// <summary>Why the library cannot be called, or null when it loaded.</summary>
    public static string? Unavailable { get; }

    /// <summary><c>ZSTD_versionNumber()</c>, e.g. 10507 for 1.5.7; 0 when the library did not load.</summary>
    public static uint VersionNumber { get; }

    /// <summary><c>ZSTD_createCCtx</c>.</summary>
    public static nint CreateContext() => s_createCCtx();

    /// <summary><c>ZSTD_freeCCtx</c>.</summary>
    public static void FreeContext(nint context) => s_freeCCtx(context);

    /// <summary><c>ZSTD_CCtx_setParameter</c>, failing on a zstd error.</summary>
    public static void SetParameter(nint context, int parameter, int value) => Check(s_setParameter(context, parameter, value));

    /// <summary><c>ZSTD_compressStream2</c>, failing on a zstd error; returns what is left to flush.</summary>
    public static nuint CompressStream2(nint context, Buffer* output, Buffer* input, int directive) =>
        Check(s_compressStream2(context, output, input, directive));

    private static nuint Check(nuint code) =>
        s_isError(code) != 0 ? throw new InvalidOperationException($"libzstd: {Marshal.PtrToStringUTF8((nint)s_getErrorName(code))}") : code;

    private static IEnumerable<string> NativeDirectories()
    {
        // The host lists the directories of the native assets it resolved from the application's deps.json.
        var listed = AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string ?? "";
        return listed.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append(AppContext.BaseDirectory);
    }

    /// <summary><c>ZSTD_inBuffer</c> and <c>ZSTD_outBuffer</c>, which have the same layout.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Buffer
    {
        /// <summary>Start of the memory.</summary>
        public byte* Pointer;

        /// <summary>Bytes of memory.</summary>
        public nuint Size;

        /// <summary>Bytes consumed or produced so far.</summary>
        public nuint Position;
    }
}
