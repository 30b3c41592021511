namespace LayerExport.Core.Native;

/// <summary>The parts of a file's status that a layer export needs.</summary>
internal readonly record struct FileStatus
{
    internal FileStatus(in StatxBuffer buffer)
    {
        Mode = buffer.Mode;
        NLink = buffer.NLink;
        Uid = buffer.Uid;
        Gid = buffer.Gid;
        Size = (long)buffer.Size;
        Inode = buffer.Ino;
        Device = ((ulong)buffer.DevMajor << 32) | buffer.DevMinor;
        RdevMajor = buffer.RdevMajor;
        RdevMinor = buffer.RdevMinor;
        MtimeSeconds = buffer.MtimeSec;
        MtimeNanoseconds = buffer.MtimeNsec;
        AtimeSeconds = buffer.AtimeSec;
        AtimeNanoseconds = buffer.AtimeNsec;
        CtimeSeconds = buffer.CtimeSec;
        CtimeNanoseconds = buffer.CtimeNsec;
        IsMountRoot = (buffer.Attributes & buffer.AttributesMask & Libc.STATX_ATTR_MOUNT_ROOT) != 0;
        IsEncrypted = (buffer.Attributes & buffer.AttributesMask & Libc.STATX_ATTR_ENCRYPTED) != 0;
        MountId = (buffer.Mask & Libc.STATX_MNT_ID) != 0 ? buffer.MntId : null;
    }

    /// <summary>Type and permission bits, as <c>st_mode</c>.</summary>
    public int Mode { get; }

    /// <summary>Number of hard links.</summary>
    public uint NLink { get; }

    /// <summary>Numeric owner.</summary>
    public uint Uid { get; }

    /// <summary>Numeric group.</summary>
    public uint Gid { get; }

    /// <summary>Size in bytes.</summary>
    public long Size { get; }

    /// <summary>Inode number.</summary>
    public ulong Inode { get; }

    /// <summary>Device holding the file.</summary>
    public ulong Device { get; }

    /// <summary>Major number of a device node.</summary>
    public uint RdevMajor { get; }

    /// <summary>Minor number of a device node.</summary>
    public uint RdevMinor { get; }

    /// <summary>Modification time, whole seconds since the epoch (sub-seconds dropped).</summary>
    public long MtimeSeconds { get; }

    /// <summary>Sub-second part of the modification time.</summary>
    public uint MtimeNanoseconds { get; }

    /// <summary>Access time, whole seconds since the epoch.</summary>
    public long AtimeSeconds { get; }

    /// <summary>Sub-second part of the access time.</summary>
    public uint AtimeNanoseconds { get; }

    /// <summary>Status-change time, seconds.</summary>
    public long CtimeSeconds { get; }

    /// <summary>Sub-second part of the status-change time.</summary>
    public uint CtimeNanoseconds { get; }

    /// <summary>The status-change time in nanoseconds since the epoch.</summary>
    public long ChangeTimeNanoseconds => (CtimeSeconds * 1_000_000_000) + CtimeNanoseconds;

    /// <summary>True when a file system or a bind mount is mounted on this very file (Linux 5.8+; false before).</summary>
    public bool IsMountRoot { get; }

    /// <summary>Whether fscrypt encrypts it: a directory's names and a file's contents need its key.</summary>
    public bool IsEncrypted { get; }

    /// <summary>The mount the file was reached through; null where the kernel does not say (before Linux 5.8).</summary>
    public ulong? MountId { get; }

    /// <summary>The file-type bits of <see cref="Mode"/>.</summary>
    public int Type => Mode & Libc.S_IFMT;

    /// <summary>Device, inode, size, and modification and status-change times to the nanosecond: what any replacement of or write to the file changes.</summary>
    /// <remarks>The access time is left out: reading the file may move it.</remarks>
    public string Identity => $"{Device}:{Inode}:{Size}:{MtimeSeconds}.{MtimeNanoseconds:D9}:{CtimeSeconds}.{CtimeNanoseconds:D9}";

    /// <summary>True when this and <paramref name="other"/> are the same file (device and inode).</summary>
    public bool IsSameFile(in FileStatus other) => Inode == other.Inode && Device == other.Device;
}
