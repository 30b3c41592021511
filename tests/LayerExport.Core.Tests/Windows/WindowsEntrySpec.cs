namespace LayerExport.Core.Tests.Windows;

/// <summary>
/// What hcsshim knows of a Windows layer entry when it writes its header: basic information and what the backup
/// streams said. The Go reference (tests/golden/gotar/windows.go) builds the header from it as backuptar does.
/// </summary>
public sealed record WindowsEntrySpec
{
    /// <summary>"" for a file or directory, "ads" for an alternate data stream, "link" for a later hard-link name.</summary>
    public string Kind { get; init; } = "";

    /// <summary>Win32 file attributes.</summary>
    public uint Attributes { get; init; }

    /// <summary>FILETIME ticks.</summary>
    public long CreationTime { get; init; }

    /// <summary>FILETIME ticks.</summary>
    public long LastAccessTime { get; init; }

    /// <summary>FILETIME ticks.</summary>
    public long LastWriteTime { get; init; }

    /// <summary>FILETIME ticks.</summary>
    public long ChangeTime { get; init; }

    /// <summary>Mode bits the streams add: 0100000 for data, 0120000 for reparse data.</summary>
    public long StreamMode { get; init; }

    /// <summary>A reparse stream made it a symlink (target in the header's link name).</summary>
    public bool Reparse { get; init; }

    /// <summary>The reparse point is a mount point (junction).</summary>
    public bool MountPoint { get; init; }

    /// <summary>A security stream was seen.</summary>
    public bool HasSecurity { get; init; }

    /// <summary>Its bytes.</summary>
    public byte[] SecurityDescriptor { get; init; } = [];

    /// <summary>Extended attributes seen in time for the header.</summary>
    public IReadOnlyList<EaSpec> ExtendedAttributes { get; init; } = [];
}

/// <summary>One extended attribute for the Go reference.</summary>
public sealed record EaSpec(byte[] Name, byte[] Value);
