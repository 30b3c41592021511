namespace LayerExport.Core.Tests.Support;

/// <summary>What lstat says about one path.</summary>
internal readonly record struct FileMetadata(
    int Mode, uint Uid, uint Gid, uint NLink, ulong Inode, long Size, long MtimeSeconds, uint MtimeNanoseconds, uint RdevMajor, uint RdevMinor, ulong Device, long CtimeNanoseconds)
{
    public int Type => Mode & 0xF000;

    public int Permissions => Mode & 0xFFF;
}
