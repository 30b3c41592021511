namespace LayerExport.Core.Compression;

/// <summary>One zstd compression context with the server's parameters: level, a checksum, and one or more workers.</summary>
/// <remarks>
/// Two implementations stand behind it, the native libzstd shipped with the application and the managed port of the
/// same zstd version; <see cref="ZstdImplementation"/> uses the native one only where it emits the same bytes.
/// </remarks>
internal abstract class ZstdEncoder : IDisposable
{
    /// <summary>A context of <paramref name="library"/>, which must be <see cref="ZstdLibrary.Native"/> or <see cref="ZstdLibrary.Managed"/>.</summary>
    public static ZstdEncoder Create(ZstdLibrary library, int level, int workers) => library switch
    {
        ZstdLibrary.Native => new NativeZstdEncoder(level, workers),
        ZstdLibrary.Managed => new ManagedZstdEncoder(level, workers),
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, "Not a zstd implementation."),
    };

    /// <summary>
    /// Takes what it can of <paramref name="input"/> and writes what is ready into <paramref name="output"/>; with
    /// <paramref name="end"/>, also ends the frame. Returns the bytes written; <paramref name="done"/> is false while
    /// output is left to collect by calling again.
    /// </summary>
    public abstract int Compress(ReadOnlySpan<byte> input, Span<byte> output, bool end, out int consumed, out bool done);

    /// <inheritdoc />
    public abstract void Dispose();
}
