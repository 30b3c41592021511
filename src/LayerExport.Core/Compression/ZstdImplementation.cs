using System.Collections.Concurrent;
using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Compression;

/// <summary>The zstd implementation a setting resolves to, and why the native one is not used when it is not.</summary>
/// <param name="Library">The implementation that compresses: <see cref="ZstdLibrary.Native"/> or <see cref="ZstdLibrary.Managed"/>.</param>
/// <param name="NativeUnavailable">Why the native libzstd cannot be used; null when it can.</param>
public sealed record ZstdImplementation(ZstdLibrary Library, string? NativeUnavailable)
{
    private static readonly ConcurrentDictionary<int, string?> NativeMismatchByLevel = new();

    /// <summary>How the log names it.</summary>
    public string Description => Library == ZstdLibrary.Native
        ? $"native libzstd {Version(LibZstd.VersionNumber)} ({LibZstd.Path})"
        : $"managed ZstdSharp.Port (zstd {Version(ZstdSharp.Unsafe.Methods.ZSTD_versionNumber())})";

    /// <summary>What <paramref name="options"/> choose: Auto takes the native libzstd where it is usable, else the managed port.</summary>
    /// <remarks>
    /// Usable means loaded, the zstd version of the managed port, and compressing a fixed sample at the configured level
    /// to the managed port's bytes: the two implementations are interchangeable only while their bytes are the same, as
    /// every cached digest and every client holding one relies on them.
    /// </remarks>
    public static ZstdImplementation Resolve(ZstdOptions options)
    {
        if (options.Library == ZstdLibrary.Managed)
        {
            return new ZstdImplementation(ZstdLibrary.Managed, null);
        }

        var unavailable = NativeMismatchByLevel.GetOrAdd(options.Level, NativeMismatch);
        return new ZstdImplementation(unavailable is null ? ZstdLibrary.Native : ZstdLibrary.Managed, unavailable);
    }

    private static string? NativeMismatch(int level)
    {
        if (LibZstd.Unavailable is { } unavailable)
        {
            return unavailable;
        }

        var managedVersion = ZstdSharp.Unsafe.Methods.ZSTD_versionNumber();
        if (LibZstd.VersionNumber != managedVersion)
        {
            return $"{LibZstd.Path} is zstd {Version(LibZstd.VersionNumber)}, the managed port zstd {Version(managedVersion)}: their bytes may differ";
        }

        var sample = Sample();
        return Compress(ZstdLibrary.Native, sample, level).AsSpan().SequenceEqual(Compress(ZstdLibrary.Managed, sample, level))
            ? null
            : $"{LibZstd.Path} compresses a sample at level {level} to other bytes than the managed port";
    }

    private static byte[] Compress(ZstdLibrary library, byte[] input, int level)
    {
        using var encoder = ZstdEncoder.Create(library, level, workers: 1);
        var output = new byte[input.Length + (64 * 1024)];
        var written = 0;
        var consumed = 0;
        bool done;
        do
        {
            written += encoder.Compress(input.AsSpan(consumed), output.AsSpan(written), end: true, out var taken, out done);
            consumed += taken;
        }
        while (!done);

        return output[..written];
    }

    // Text-like lines, then bytes that do not compress: both the match finder and the raw-block path.
    private static byte[] Sample()
    {
        var text = new StringBuilder();
        for (var i = 0; text.Length < 192 * 1024; i++)
        {
            text.Append(i * 7919 % 104729).Append(" usr/lib/x86_64-linux-gnu/lib").Append(i % 211).Append(".so.").Append(i % 7).Append('\n');
        }

        var sample = new byte[text.Length + (64 * 1024)];
        Encoding.ASCII.GetBytes(text.ToString(), sample);
        var state = 0x9E3779B97F4A7C15UL;
        for (var i = text.Length; i < sample.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            sample[i] = (byte)state;
        }

        return sample;
    }

    private static string Version(uint number) => $"{number / 10000}.{number / 100 % 100}.{number % 100}";
}
