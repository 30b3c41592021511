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

    /// <summary>Compression threads; 0 means one per core.</summary>
    [Range(0, 256, ErrorMessage = "Export:Threads must be 0 (one per core) to 256.")]
    public int Threads { get; set; }

    /// <summary>The thread count actually used.</summary>
    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;
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

/// <summary>A zstd implementation (<c>Export:Zstd:Library</c>).</summary>
public enum ZstdLibrary
{
    /// <summary>The native libzstd where it loads and emits the managed port's bytes, else the managed port.</summary>
    Auto,

    /// <summary>The native libzstd shipped with the server; start-up fails where it cannot be used.</summary>
    Native,

    /// <summary>ZstdSharp.Port, the managed port of the same zstd version.</summary>
    Managed,
}
