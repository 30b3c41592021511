using System.Text;

namespace LayerExport.Core.Native;

/// <summary>Opens (creating what is missing, mode 0700) a directory that only this process's effective user can change.</summary>
/// <remarks>
/// The path is walked from <c>/</c> one component at a time with <c>O_NOFOLLOW</c>, and each directory is judged
/// by the status of the descriptor held, so nothing can be swapped between the check and the use. A directory
/// that another user can change lets that user plant entries or symlinks in it, so the directory itself and every
/// component created here must belong to the effective user and be writable by nobody else; an existing
/// ancestor must belong to root or to that user and be writable by nobody else unless it is sticky (as
/// <c>/tmp</c> is, where others cannot rename or remove what they do not own).
/// </remarks>
internal static class PrivateDirectory
{
    private const uint CreatedMode = 0b111_000_000;
    private const int GroupOrOtherWritable = 0b000_010_010;
    private const int Sticky = 0b001_000_000_000;

    /// <summary>The opened directory, which the caller disposes.</summary>
    /// <exception cref="UnsafeDirectoryException">A component is a symlink, not a directory, or may be changed by another user.</exception>
    public static FileDescriptor OpenOrCreate(string path)
    {
        var full = Path.GetFullPath(path);
        var user = Libc.GetEffectiveUserId();
        var components = full.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var directory = FileDescriptor.OpenDirectory("/");
        try
        {
            if (components.Length == 0)
            {
                throw new UnsafeDirectoryException($"'{full}' is the root directory, which is no place for a cache.");
            }

            CheckAncestor(directory.Stat(), "/", full, user);
            for (var i = 0; i < components.Length; i++)
            {
                var name = Encoding.UTF8.GetBytes(components[i]);
                var shown = "/" + string.Join('/', components[..(i + 1)]);
                var created = false;
                var next = TryOpenComponent(directory, name, full, shown);
                if (next is null)
                {
                    created = directory.TryCreateDirectoryAt(name, CreatedMode);
                    next = TryOpenComponent(directory, name, full, shown) ?? throw new NativeIOException(Libc.ENOENT, full);
                }

                directory.Dispose();
                directory = next;
                if (created || i == components.Length - 1)
                {
                    CheckOwned(directory.Stat(), shown, full, user);
                }
                else
                {
                    CheckAncestor(directory.Stat(), shown, full, user);
                }
            }

            return directory;
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    // Null when the name does not exist, for the caller to create; a symlink there is refused, never followed.
    private static FileDescriptor? TryOpenComponent(FileDescriptor parent, byte[] name, string full, string shown)
    {
        try
        {
            return parent.TryOpenDirectoryAt(name, out var opened) ? opened : null;
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw NotADirectory(full, shown);
        }
    }

    private static UnsafeDirectoryException NotADirectory(string full, string shown) =>
        new($"'{full}': '{shown}' is a symlink or not a directory; give the real path of a directory.");

    private static void CheckOwned(in FileStatus status, string shown, string full, uint user)
    {
        if (status.Uid != user || (status.Mode & GroupOrOtherWritable) != 0)
        {
            throw new UnsafeDirectoryException(
                $"'{full}': '{shown}' belongs to uid {status.Uid} with mode {Convert.ToString(status.Mode & 0xFFF, 8)}; it must belong to "
                + $"this process's user (uid {user}) and be writable by nobody else, or another user could plant entries in it.");
        }
    }

    private static void CheckAncestor(in FileStatus status, string shown, string full, uint user)
    {
        if ((status.Uid != 0 && status.Uid != user) || ((status.Mode & GroupOrOtherWritable) != 0 && (status.Mode & Sticky) == 0))
        {
            throw new UnsafeDirectoryException(
                $"'{full}': '{shown}' belongs to uid {status.Uid} with mode {Convert.ToString(status.Mode & 0xFFF, 8)}; every directory "
                + $"above it must belong to root or to this process's user (uid {user}) and be writable by nobody else unless it is sticky.");
        }
    }
}
