using System.ComponentModel.DataAnnotations;
using LayerExport.Core.Export;

namespace LayerExportApi.Hosting;

/// <summary>The configuration section <c>DigestCache</c>.</summary>
internal sealed class DigestCacheOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "DigestCache";

    /// <summary>Directory that keeps computed digests across restarts; empty keeps them in memory only; unset, <see cref="UserCacheDirectory"/>.</summary>
    public string? Directory { get; set; }

    /// <summary>How long a layer must have been unchanged when an export began for its digests to be kept (<see cref="LayerDescriptors.SettleTime"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "DigestCache:SettleTime must be 00:00:00 to 01:00:00.")]
    public TimeSpan SettleTime { get; set; } = LayerDescriptors.DefaultSettleTime;

    /// <summary>The server user's own cache directory, or empty when neither <c>XDG_CACHE_HOME</c> nor <c>HOME</c> names one.</summary>
    /// <remarks>
    /// Not $TMPDIR: every user can write there and create the directory before the server does, which would
    /// either choose the digests it announces or, refused, keep it from starting. The user's own cache directory is not shared.
    /// </remarks>
    public static string UserCacheDirectory() =>
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { } cache && Path.IsPathFullyQualified(cache)
            ? Path.Combine(cache, "layer-export", "digests")
            : Environment.GetEnvironmentVariable("HOME") is { } home && Path.IsPathFullyQualified(home)
                ? Path.Combine(home, ".cache", "layer-export", "digests")
                : "";

    /// <summary>Whether <paramref name="userCacheDirectory"/> lies in a home of <c>/</c>, the file system's root.</summary>
    /// <remarks>Docker gives a user without a home of its own <c>HOME=/</c>; run as root, a cache there would be made at the root.</remarks>
    public static bool IsInRootHome(string userCacheDirectory) =>
        Environment.GetEnvironmentVariable("HOME") == "/" && userCacheDirectory.StartsWith("/.cache/", StringComparison.Ordinal);

    /// <summary>The home directory <paramref name="userCacheDirectory"/> lies in when that home does not exist, else null.</summary>
    public static string? MissingHome(string userCacheDirectory) =>
        Environment.GetEnvironmentVariable("HOME") is { } home && Path.IsPathFullyQualified(home)
            && userCacheDirectory.StartsWith(Path.Combine(home, ".cache") + "/", StringComparison.Ordinal) && !System.IO.Directory.Exists(home)
            ? home
            : null;
}
