namespace LayerExport.Core.Tar;

/// <summary>Everything a tar header of a layer entry says; names and values are raw bytes, as on disk.</summary>
public sealed record TarEntryHeader
{
    /// <summary>Relative, '/'-separated path; directories end in '/'.</summary>
    public required byte[] Name { get; init; }

    /// <summary>The typeflag.</summary>
    public required TarEntryType Type { get; init; }

    /// <summary>Permission bits with setuid, setgid and sticky; file-type bits only where a layer format sets them (Windows layers).</summary>
    public long Mode { get; init; }

    /// <summary>Numeric owner.</summary>
    public long Uid { get; init; }

    /// <summary>Numeric group.</summary>
    public long Gid { get; init; }

    /// <summary>Bytes of data that follow the header (0 for everything but regular files).</summary>
    public long Size { get; init; }

    /// <summary>Modification time in whole seconds since the epoch.</summary>
    public long ModificationTime { get; init; }

    /// <summary>Sub-second part of the modification time (0 to 999 999 999); when not 0, a PAX <c>mtime</c> record keeps it.</summary>
    public int ModificationTimeNanoseconds { get; init; }

    /// <summary>Access time for a PAX <c>atime</c> record; null for none.</summary>
    public PaxTime? AccessTime { get; init; }

    /// <summary>Status-change time for a PAX <c>ctime</c> record; null for none.</summary>
    public PaxTime? ChangeTime { get; init; }

    /// <summary>Symlink target or hard-link name; empty otherwise.</summary>
    public byte[] LinkName { get; init; } = [];

    /// <summary>Major number of a device node.</summary>
    public long DeviceMajor { get; init; }

    /// <summary>Minor number of a device node.</summary>
    public long DeviceMinor { get; init; }

    /// <summary>Extended attributes to carry as <c>SCHILY.xattr.</c> records, sorted by name.</summary>
    public IReadOnlyList<Xattr> Xattrs { get; init; } = [];

    /// <summary>Further PAX records, each key at most once (Windows layers: <c>MSWINDOWS.*</c>, <c>LIBARCHIVE.creationtime</c>).</summary>
    public IReadOnlyList<PaxRecord> PaxRecords { get; init; } = [];
}
