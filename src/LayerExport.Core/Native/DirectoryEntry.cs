namespace LayerExport.Core.Native;

/// <summary>One name of a directory listing.</summary>
/// <param name="Name">The name's raw bytes.</param>
/// <param name="Type">The d_type (<c>DT_*</c>); <c>DT_UNKNOWN</c> on file systems that do not fill it in.</param>
/// <param name="Inode">The inode number the listing gave.</param>
internal readonly record struct DirectoryEntry(byte[] Name, byte Type, ulong Inode);
