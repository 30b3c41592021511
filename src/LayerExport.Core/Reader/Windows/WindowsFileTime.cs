using LayerExport.Core.Tar;

namespace LayerExport.Core.Reader.Windows;

/// <summary>FILETIME conversions: 100-nanosecond ticks since 1601-01-01 UTC.</summary>
internal static class WindowsFileTime
{
    /// <summary>The FILETIME of the Unix epoch.</summary>
    public const long UnixEpochTicks = 116_444_736_000_000_000;

    /// <summary>The FILETIME of a Unix time; sub-100-nanosecond parts are dropped, as NTFS keeps none.</summary>
    public static long FromUnix(long seconds, uint nanoseconds) => unchecked((seconds * 10_000_000) + (nanoseconds / 100) + UnixEpochTicks);

    /// <summary>The time Go's exporter writes for a FILETIME: <c>(ticks - epoch) * 100</c> nanoseconds, overflowing as an int64 does.</summary>
    public static PaxTime ToPaxTime(long ticks) => PaxTime.FromUnixNanoseconds(unchecked((ticks - UnixEpochTicks) * 100));
}
