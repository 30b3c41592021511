namespace LayerExportApi.Hosting;

/// <summary>The configuration section <c>DigestCache</c>.</summary>
internal sealed class DigestCacheOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "DigestCache";

    /// <summary>Directory that keeps computed digests across restarts; empty keeps them in memory only.</summary>
    public string? Directory { get; set; } = Path.Combine(Path.GetTempPath(), "layer-export", "digests");
}
