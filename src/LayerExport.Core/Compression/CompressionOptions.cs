using System.ComponentModel.DataAnnotations;

namespace LayerExport.Core.Compression;

/// <summary>The configuration section <c>Export</c>: codec settings, which are part of every compressed digest.</summary>
/// <remarks>Changing a level or the gzip block size changes the compressed bytes of every layer; the thread count never does.</remarks>
public sealed class CompressionOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "Export";

    /// <summary>gzip settings.</summary>
    public GzipOptions Gzip { get; set; } = new();

    /// <summary>zstd settings.</summary>
    public ZstdOptions Zstd { get; set; } = new();

    /// <summary>The most compression threads one export takes by default, whatever the core count.</summary>
    /// <remarks>
    /// Each zstd worker holds a job's input and output: an export at level 3 held 49 MB with one worker, 65 MB with
    /// two, 131 MB with eight and 179 MB with sixteen (docs/decisions/0018-compression-threads-per-export.md), so one
    /// worker per core would multiply the memory of every concurrent export by the machine's core count.
    /// </remarks>
    public const int DefaultMaxThreads = 4;

    /// <summary>Compression threads of one export; 0 means one per core, at most <see cref="DefaultMaxThreads"/>.</summary>
    [Range(0, 256, ErrorMessage = "Export:Threads must be 0 (one per core, at most 4) to 256.")]
    public int Threads { get; set; }

    /// <summary>The thread count actually used.</summary>
    public int EffectiveThreads => ThreadsOn(Environment.ProcessorCount);

    /// <summary>The thread count used on a machine of <paramref name="cores"/> cores.</summary>
    internal int ThreadsOn(int cores) => Threads > 0 ? Threads : Math.Min(cores, DefaultMaxThreads);
}

/// <summary>gzip settings.</summary>
public sealed class GzipOptions
{
    /// <summary>zlib compression level, 1 (fastest) to 9 (smallest); the default 2 is chosen in docs/decisions/0003-compression.md.</summary>
    public int Level { get; set; } = 2;

    /// <summary>Bytes of tar per independently compressed block.</summary>
    public int BlockSize { get; set; } = 1024 * 1024;
}

/// <summary>zstd settings.</summary>
public sealed class ZstdOptions
{
    /// <summary>zstd compression level, 1 to 19.</summary>
    public int Level { get; set; } = 3;

    /// <summary>Which zstd implementation compresses; the bytes are the same whichever does (docs/decisions/0011-native-zstd.md).</summary>
    public ZstdLibrary Library { get; set; } = ZstdLibrary.Auto;
}
