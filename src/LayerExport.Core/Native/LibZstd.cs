using System.Runtime.InteropServices;

namespace LayerExport.Core.Native;

/// <summary>The libzstd shipped with the application, loaded by path; <see cref="Unavailable"/> says why it cannot be used.</summary>
/// <remarks>
/// The ZstdNet package carries a pinned libzstd build for each runtime identifier. It is looked for only in the
/// directories the host lists for native assets, never by name, so a distribution's libzstd (another version, other
/// bytes) is not loaded in its place; and it is used only when it is the zstd version that the managed port carries
/// and no other libzstd in the process could stand in for its functions.
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

    private static delegate* unmanaged[Cdecl]<nint> s_createCCtx;
    private static delegate* unmanaged[Cdecl]<nint, nuint> s_freeCCtx;
    private static delegate* unmanaged[Cdecl]<nint, int, int, nuint> s_setParameter;
    private static delegate* unmanaged[Cdecl]<nint, Buffer*, Buffer*, int, nuint> s_compressStream2;
    private static delegate* unmanaged[Cdecl]<nuint, uint> s_isError;
    private static delegate* unmanaged[Cdecl]<nuint, byte*> s_getErrorName;

    static LibZstd()
    {
        try
        {
            Unavailable = Load();
        }
        catch (Exception e)
        {
            Unavailable = $"{Path} cannot be used: {e.Message}";
        }
    }

    /// <summary>Where the library was found, if it was.</summary>
    public static string? Path { get; private set; }

    /// <summary>Why the library cannot be called, or null when it loaded.</summary>
    public static string? Unavailable { get; }

    /// <summary><c>ZSTD_versionNumber()</c>, e.g. 10507 for 1.5.7; 0 when the library did not load.</summary>
    public static uint VersionNumber { get; private set; }

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

    // Returns why the library cannot be used, or null once it is bound.
    private static string? Load()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the native libzstd is used on Linux only";
        }

        // The shipped library calls its own functions through the dynamic linker: a libzstd already in the process's
        // global scope (LD_PRELOAD, or a host program that exports one) would stand in for them, another version inside
        // ours.
        if (NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "ZSTD_compressStream2", out _))
        {
            return "another libzstd is already loaded into the process (LD_PRELOAD?) and would take the place of the shipped library's own functions";
        }

        Path = NativeDirectories().Select(directory => System.IO.Path.Combine(directory, "libzstd.so")).FirstOrDefault(File.Exists);
        if (Path is null)
        {
            return $"libzstd.so is not among the application's native libraries (no build of the ZstdNet package for {RuntimeInformation.RuntimeIdentifier})";
        }

        if (!NativeLibrary.TryLoad(Path, out var library))
        {
            return $"{Path} does not load on this system";
        }

        if (!NativeLibrary.TryGetExport(library, "ZSTD_versionNumber", out var versionNumber))
        {
            return $"{Path} is not a libzstd";
        }

        VersionNumber = ((delegate* unmanaged[Cdecl]<uint>)versionNumber)();
        s_createCCtx = (delegate* unmanaged[Cdecl]<nint>)NativeLibrary.GetExport(library, "ZSTD_createCCtx");
        s_freeCCtx = (delegate* unmanaged[Cdecl]<nint, nuint>)NativeLibrary.GetExport(library, "ZSTD_freeCCtx");
        s_setParameter = (delegate* unmanaged[Cdecl]<nint, int, int, nuint>)NativeLibrary.GetExport(library, "ZSTD_CCtx_setParameter");
        s_compressStream2 = (delegate* unmanaged[Cdecl]<nint, Buffer*, Buffer*, int, nuint>)NativeLibrary.GetExport(library, "ZSTD_compressStream2");
        s_isError = (delegate* unmanaged[Cdecl]<nuint, uint>)NativeLibrary.GetExport(library, "ZSTD_isError");
        s_getErrorName = (delegate* unmanaged[Cdecl]<nuint, byte*>)NativeLibrary.GetExport(library, "ZSTD_getErrorName");
        return null;
    }

    private static IEnumerable<string> NativeDirectories()
    {
        // The host lists the directories of the native assets it resolved from the application's deps.json (and the
        // shared framework's, which holds no libzstd).
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
