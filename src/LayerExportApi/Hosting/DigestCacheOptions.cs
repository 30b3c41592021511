namespace LayerExportApi.Hosting;

/// <summary>The configuration section <c>DigestCache</c>.</summary>
internal sealed class DigestCacheOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "DigestCache";

    /// <summary>Directory that keeps computed digests across restarts; empty keeps them in memory only.</summary>
    public string? Directory { get; set; } = DefaultDirectory();

    // Not $TMPDIR: every user can write there and create the directory before the server does, which would
    // either choose the digests it announces or, refused, keep it from starting. The user's own cache directory is not shared.
    private static string DefaultDirectory() =>
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { } cache && Path.IsPathFullyQualified(cache)
            ? Path.Combine(cache, "layer-export", "digests")
            : Environment.GetEnvironmentVariable("HOME") is { } home && Path.IsPathFullyQualified(home)
                ? Path.Combine(home, ".cache", "layer-export", "digests")
                : "";
}
