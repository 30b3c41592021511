using System.Collections.Concurrent;
using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Compression;

/// <summary>The zstd implementation a setting resolves to, and why the native one is not used when it is not.</summary>
/// <param name="Library">The implementation that compresses: <see cref="ZstdLibrary.Native"/> or <see cref="ZstdLibrary.Managed"/>.</param>
/// <param name="NativeUnavailable">Why the native libzstd cannot be used; null when it can.</param>
public sealed record ZstdImplementation(ZstdLibrary Library, string? NativeUnavailable)
{
    private static readonly ConcurrentDictionary<int, string?> NativeUnusableByLevel = new();

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

        var unavailable = NativeUnusableByLevel.GetOrAdd(options.Level, NativeUnusable);
        return new ZstdImplementation(unavailable is null ? ZstdLibrary.Native : ZstdLibrary.Managed, unavailable);
    }

    /// <summary>The sample's bytes from <paramref name="library"/>, fed as <see cref="ZstdStage"/> feeds it: the data first, its size unknown (so through the workers), then the end.</summary>
    internal static byte[] CompressSample(ZstdLibrary library, int level)
    {
        using var encoder = ZstdEncoder.Create(library, level, workers: 1);
        var output = new MemoryStream();
        var buffer = new byte[ZstdStage.OutputBufferSize];
        var rest = Sample().AsSpan();
        while (!rest.IsEmpty)
        {
            output.Write(buffer, 0, encoder.Compress(rest, buffer, end: false, out var consumed, out _));
            rest = rest[consumed..];
        }

        bool done;
        do
        {
            output.Write(buffer, 0, encoder.Compress([], buffer, end: true, out _, out done));
        }
        while (!done);

        return output.ToArray();
    }

    private static string? NativeUnusable(int level)
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

        try
        {
            return CompressSample(ZstdLibrary.Native, level).AsSpan().SequenceEqual(CompressSample(ZstdLibrary.Managed, level))
                ? null
                : $"{LibZstd.Path} compresses a sample at level {level} to other bytes than the managed port";
        }
        catch (InvalidOperationException e)
        {
            // A build without workers refuses nbWorkers, for one.
            return $"{LibZstd.Path} failed to compress a sample at level {level}: {e.Message}";
        }
    }

    /// <summary>The start-up check's input: text-like lines, then bytes that do not compress (the match finder and the raw-block path).</summary>
    internal static byte[] Sample()
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
