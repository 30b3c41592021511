using System.Runtime.InteropServices;

namespace StressTests.Infrastructure;

/// <summary>The system calls the attacker and the fault injector make, as they are, without .NET's checks in between.</summary>
/// <remarks>Each returns false with the errno when the call fails, or throws where a failure means the test itself is broken.</remarks>
internal static partial class Posix
{
    /// <summary>renameat2 flag: swap the two names atomically (both must exist; either may be a directory).</summary>
    private const uint RenameExchange = 2;
    private const int AtCurrentDirectory = -100;

    /// <summary>rename(2): atomically puts <paramref name="from"/> at <paramref name="to"/>, replacing what was there.</summary>
    public static bool TryRename(string from, string to, out int errno) => Check(Rename(from, to), out errno);

    /// <summary>renameat2(RENAME_EXCHANGE): atomically swaps two names, e.g. a directory and a symlink.</summary>
    public static bool TryExchange(string first, string second, out int errno) =>
        Check(RenameAt2(AtCurrentDirectory, first, AtCurrentDirectory, second, RenameExchange), out errno);

    /// <summary>symlink(2).</summary>
    public static bool TrySymlink(string target, string linkPath, out int errno) => Check(Symlink(target, linkPath), out errno);

    /// <summary>link(2): a second name for an existing file.</summary>
    public static bool TryLink(string existing, string newPath, out int errno) => Check(Link(existing, newPath), out errno);

    /// <summary>unlink(2): removes a name (never a directory).</summary>
    public static bool TryUnlink(string path, out int errno) => Check(Unlink(path), out errno);

    /// <summary>lchown(2); throws on failure.</summary>
    public static void ChangeOwner(string path, int uid, int gid)
    {
        if (!Check(LChown(path, uid, gid), out var errno))
        {
            throw new IOException($"lchown({path}, {uid}, {gid}) failed: errno {errno}");
        }
    }

    private static bool Check(int result, out int errno)
    {
        errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        return result == 0;
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string from, string to);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int fromDirectory, string from, int toDirectory, string to, uint flags);

    [LibraryImport("libc", EntryPoint = "symlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Symlink(string target, string linkPath);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string newPath);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, int uid, int gid);
}
