using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Reader;

/// <summary>Whether this process may read a regular file of a layer, asked by the metadata walk before any byte of the tar is sent.</summary>
/// <remarks>
/// A file the server cannot open fails its export where the open comes, in the middle of the body, and a client
/// can then only be told by a dropped connection. Found by the walk that measures the tar, it is a problem
/// response instead, naming the file. The mode bits settle nearly every file without a system call; the kernel is
/// asked (<c>faccessat2</c> with the effective IDs) only where they refuse or an access ACL may decide otherwise,
/// since a capability (root's CAP_DAC_OVERRIDE), the process's groups or the ACL can still grant or refuse.
/// </remarks>
internal static class ReadPermission
{
    private const int OwnerRead = 0x100;
    private const int GroupAndOtherRead = 0x24;

    private static readonly uint EffectiveUserId = Libc.GetEffectiveUserId();

    /// <summary>The extended attribute that holds a file's access ACL.</summary>
    public static ReadOnlySpan<byte> AccessAcl => "system.posix_acl_access"u8;

    /// <summary>True when the mode bits alone let <paramref name="userId"/> read a file of <paramref name="owner"/>, whatever its groups.</summary>
    /// <remarks>The owner is judged by the owner bits only; anyone else by the group or the other bits, so both must allow it.</remarks>
    public static bool ModeGrants(int mode, uint owner, uint userId) =>
        owner == userId ? (mode & OwnerRead) != 0 : (mode & GroupAndOtherRead) == GroupAndOtherRead;

    /// <summary>Throws the error an open would give when this process may not read <paramref name="name"/>.</summary>
    /// <param name="directory">The opened directory that lists the name.</param>
    /// <param name="name">The regular file's name.</param>
    /// <param name="listed">Its status, as listed.</param>
    /// <param name="mayCarryAccessAcl">False only where the file is known to carry no access ACL, which the mode bits would not show whole: then they may decide.</param>
    /// <exception cref="NativeIOException">EACCES: the kernel refuses this process the file.</exception>
    public static void Require(FileDescriptor directory, byte[] name, in FileStatus listed, bool mayCarryAccessAcl)
    {
        // A kernel that cannot be asked leaves the answer to the open, as before this check.
        if ((!mayCarryAccessAcl && ModeGrants(listed.Mode, listed.Uid, EffectiveUserId)) || directory.CanReadAt(name) != false)
        {
            return;
        }

        throw new NativeIOException(Libc.EACCES, Encoding.UTF8.GetString(name));
    }
}
