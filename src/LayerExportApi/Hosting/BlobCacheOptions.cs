using System.ComponentModel.DataAnnotations;
using LayerExport.Core.Blobs;

namespace LayerExportApi.Hosting;

/// <summary>The configuration section <c>BlobCache</c>.</summary>
internal sealed class BlobCacheOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "BlobCache";

    /// <summary>Directory that keeps compressed bodies under their digest, read back by later downloads of the same layer state; unset or empty, none are kept.</summary>
    public string? Directory { get; set; }

    /// <summary>The bound on the bytes of the bodies kept; the first written go first. A body larger than it is not kept.</summary>
    [Range(1L << 20, long.MaxValue, ErrorMessage = "BlobCache:MaxBytes must be at least 1048576 (1 MiB).")]
    public long MaxBytes { get; set; } = BlobCache.DefaultMaxBytes;
}
