using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LayerExport.Core.Native;

/// <summary>An open Linux file descriptor; every lookup through it is relative and never follows a symlink.</summary>
internal sealed unsafe class FileDescriptor : SafeHandleZeroOrMinusOneIsInvalid
{
    private const int NameBufferLength = 256;
    private const int ListingBufferLength = 64 * 1024;
    private const int XattrListBufferLength = 1024;

    // A terminal swapped in for a listed file must not become the process's controlling terminal either.
    private const int FileOpenFlags = Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOCTTY | Libc.O_CLOEXEC;

    // The mount ID comes at no extra cost: it tells a bind mount of the same file system, which st_dev cannot.
    private const uint StatusMask = Libc.STATX_BASIC_STATS | Libc.STATX_MNT_ID;

    private const int FscryptPolicyV2Length = 24;
    private const byte FscryptPolicyV2 = 2;
    private const uint FscryptKeySpecIdentifier = 2;
    private const uint FscryptKeyStatusPresent = 2;

    private static bool s_noXattrAt;

    private FileDescriptor(int fd)
        : base(ownsHandle: true) => SetHandle(fd);

    /// <summary>Opens a directory by absolute path (used once, for the configured store root).</summary>
    public static FileDescriptor OpenDirectory(string path)
    {
        var bytes = NulTerminated(Encoding.UTF8.GetBytes(path));
        fixed (byte* p = bytes)
        {
            var fd = Libc.OpenAtWorkingDirectory(Libc.AT_FDCWD, p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            return fd >= 0 ? new FileDescriptor(fd) : throw Error(Marshal.GetLastPInvokeError(), path);
        }
    }

    /// <summary>Opens a child directory, refusing a symlink in its place.</summary>
    public FileDescriptor OpenDirectoryAt(ReadOnlySpan<byte> name) =>
        OpenAt(name, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC);

    /// <summary>Opens a child for reading, refusing a symlink and never blocking on a FIFO put in its place.</summary>
    public FileDescriptor OpenFileAt(ReadOnlySpan<byte> name) =>
        OpenAt(name, FileOpenFlags | Libc.O_NOFOLLOW);

    /// <summary>Like <see cref="OpenFileAt"/>, but reading does not move the file's access time where the kernel allows that (owner or CAP_FOWNER).</summary>
    public FileDescriptor OpenFileKeepingAccessTimeAt(ReadOnlySpan<byte> name)
    {
        var flags = FileOpenFlags | Libc.O_NOFOLLOW;
        var fd = OpenRaw(name, flags | Libc.O_NOATIME);
        if (fd < 0 && Marshal.GetLastPInvokeError() == Libc.EPERM)
        {
            fd = OpenRaw(name, flags);
        }

        return fd >= 0 ? new FileDescriptor(fd) : throw LookupError(Marshal.GetLastPInvokeError(), name);
    }

    /// <summary>Opens a child for reading only when it is a regular file; null when something else stands there, <paramref name="status"/> saying what.</summary>
    /// <remarks>
    /// The name is looked at before it is opened: a device or FIFO is never opened (a device's driver would run its
    /// open, a FIFO's blocked writer would wake). One swapped in between the look and the open is caught by the open's
    /// own status, and closed at once. A symlink is looked at, never followed.
    /// </remarks>
    /// <param name="name">The child's name.</param>
    /// <param name="status">What stands at the name: the opened file's status, or what the look found.</param>
    /// <param name="keepAccessTime">Open as <see cref="OpenFileKeepingAccessTimeAt"/> does.</param>
    public FileDescriptor? OpenRegularFileAt(ReadOnlySpan<byte> name, out FileStatus status, bool keepAccessTime = false)
    {
        status = StatAt(name);
        if (status.Type != Libc.S_IFREG)
        {
            return null;
        }

        var file = keepAccessTime ? OpenFileKeepingAccessTimeAt(name) : OpenFileAt(name);
        try
        {
            status = file.Stat();
        }
        catch
        {
            file.Dispose();
            throw;
        }

        if (status.Type == Libc.S_IFREG)
        {
            return file;
        }

        file.Dispose();
        return null;
    }

    /// <summary>Tries to open a child directory; false when it does not exist.</summary>
    public bool TryOpenDirectoryAt(ReadOnlySpan<byte> name, out FileDescriptor? directory)
    {
        var fd = OpenRaw(name, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC);
        if (fd >= 0)
        {
            directory = new FileDescriptor(fd);
            return true;
        }

        var error = LookupError(Marshal.GetLastPInvokeError(), name);
        directory = null;
        return error.IsNotFound ? false : throw error;
    }

    /// <summary>
    /// Opens the directory at <paramref name="path"/> below this one, resolving symlinks as if this directory were
    /// the root and never leaving its mount; null where <c>openat2</c> is missing (before Linux 5.6, or refused by
    /// a seccomp filter) or keeps being raced.
    /// </summary>
    public FileDescriptor? TryOpenDirectoryInRoot(ReadOnlySpan<byte> path)
    {
        Span<byte> buffer = stackalloc byte[NameBufferLength];
        var z = ToCString(path, buffer);
        var how = new OpenHow
        {
            Flags = (ulong)(Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC),
            Resolve = Libc.RESOLVE_IN_ROOT | Libc.RESOLVE_NO_MAGICLINKS | Libc.RESOLVE_NO_XDEV,
        };
        fixed (byte* p = z)
        {
            // EAGAIN: a rename or mount raced the resolution of '..'; a few tries, then the caller's slower way.
            for (var attempt = 0; attempt < 8; attempt++)
            {
                var fd = Libc.OpenAt2(this, p, &how);
                if (fd >= 0)
                {
                    return new FileDescriptor(fd);
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno is Libc.EINTR or Libc.EAGAIN)
                {
                    continue;
                }

                return errno is Libc.ENOSYS or Libc.EPERM ? null : throw Error(errno, path);
            }

            return null;
        }
    }

    private FileDescriptor OpenAt(ReadOnlySpan<byte> name, int flags)
    {
        var fd = OpenRaw(name, flags);
        return fd >= 0 ? new FileDescriptor(fd) : throw LookupError(Marshal.GetLastPInvokeError(), name);
    }

    private int OpenRaw(ReadOnlySpan<byte> name, int flags)
    {
        Span<byte> buffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, buffer);
        fixed (byte* p = z)
        {
            int fd;
            do
            {
                fd = Libc.OpenAt(this, p, flags, 0);
            }
            while (fd < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR);
            return fd;
        }
    }

    /// <summary>Creates a child directory with <paramref name="mode"/>; false when the name already exists.</summary>
    public bool TryCreateDirectoryAt(ReadOnlySpan<byte> name, uint mode)
    {
        Span<byte> buffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, buffer);
        fixed (byte* p = z)
        {
            if (Libc.MkdirAt(this, p, mode) == 0)
            {
                return true;
            }
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == Libc.EEXIST ? false : throw Error(errno, name);
    }

    /// <summary>Creates a new child file for writing; fails if the name exists in any form, a symlink included (<c>O_EXCL</c>).</summary>
    public FileDescriptor CreateNewFileAt(ReadOnlySpan<byte> name, int mode)
    {
        Span<byte> buffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, buffer);
        fixed (byte* p = z)
        {
            var fd = Libc.OpenAt(this, p, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_NOCTTY | Libc.O_CLOEXEC, mode);
            return fd >= 0 ? new FileDescriptor(fd) : throw Error(Marshal.GetLastPInvokeError(), name);
        }
    }

    /// <summary>Writes all of <paramref name="source"/> from the start of the file.</summary>
    public void WriteAll(ReadOnlySpan<byte> source) => WriteAllAt(source, 0);

    /// <summary>Writes all of <paramref name="source"/> from <paramref name="offset"/> on.</summary>
    public void WriteAllAt(ReadOnlySpan<byte> source, long offset)
    {
        fixed (byte* p = source)
        {
            for (var written = 0; written < source.Length;)
            {
                var n = Libc.PWrite(this, p + written, (nuint)(source.Length - written), offset + written);
                if (n >= 0)
                {
                    written += (int)n;
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR)
                {
                    throw Error(errno, "(file content)"u8);
                }
            }
        }
    }

    /// <summary>Renames a child over another name of this same directory, atomically.</summary>
    public void RenameAt(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        Span<byte> fromBuffer = stackalloc byte[NameBufferLength];
        Span<byte> toBuffer = stackalloc byte[NameBufferLength];
        var fromZ = ToCString(from, fromBuffer);
        var toZ = ToCString(to, toBuffer);
        fixed (byte* f = fromZ)
        fixed (byte* t = toZ)
        {
            if (Libc.RenameAt(this, f, this, t) != 0)
            {
                throw Error(Marshal.GetLastPInvokeError(), from);
            }
        }
    }

    /// <summary>Removes a child that is not a directory; a name already gone is not an error.</summary>
    public void UnlinkAt(ReadOnlySpan<byte> name)
    {
        Span<byte> buffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, buffer);
        fixed (byte* p = z)
        {
            if (Libc.UnlinkAt(this, p, 0) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != Libc.ENOENT)
            {
                throw Error(errno, name);
            }
        }
    }

    /// <summary>Removes a child that is not a directory, ignoring a failure: for a cache's own files, where one left behind is only a stray that a later prune removes.</summary>
    public void RemoveQuietlyAt(ReadOnlySpan<byte> name)
    {
        try
        {
            UnlinkAt(name);
        }
        catch (NativeIOException)
        {
            // Left behind, it is only a stray file in the server's own directory.
        }
    }

    /// <summary>Metadata of this descriptor itself.</summary>
    public FileStatus Stat()
    {
        StatxBuffer buffer;
        byte empty = 0;
        if (Libc.Statx(this, &empty, Libc.AT_EMPTY_PATH, StatusMask, &buffer) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "(open file)"u8);
        }

        return new FileStatus(in buffer);
    }

    /// <summary>Metadata of a child, without following a symlink.</summary>
    public FileStatus StatAt(ReadOnlySpan<byte> name)
    {
        Span<byte> nameBuffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, nameBuffer);
        StatxBuffer buffer;
        fixed (byte* p = z)
        {
            if (Libc.Statx(this, p, Libc.AT_SYMLINK_NOFOLLOW, StatusMask, &buffer) != 0)
            {
                throw LookupError(Marshal.GetLastPInvokeError(), name);
            }
        }

        return new FileStatus(in buffer);
    }

    /// <summary>Whether a child is a symlink now, without following it; false once it is gone.</summary>
    public bool IsSymlinkAt(ReadOnlySpan<byte> name)
    {
        try
        {
            return StatAt(name).Type == Libc.S_IFLNK;
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>Whether this process may read a child, as the kernel judges an open (effective IDs, capabilities, ACLs), without following a symlink.</summary>
    /// <returns>False when the kernel refuses (EACCES); null when it cannot be asked (before Linux 5.8); any other failure throws.</returns>
    public bool? CanReadAt(ReadOnlySpan<byte> name)
    {
        Span<byte> nameBuffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, nameBuffer);
        fixed (byte* p = z)
        {
            if (Libc.FAccessAt2(this, p, Libc.R_OK, Libc.AT_EACCESS | Libc.AT_SYMLINK_NOFOLLOW) == 0)
            {
                return true;
            }
        }

        return Marshal.GetLastPInvokeError() switch
        {
            Libc.EACCES => false,
            Libc.ENOSYS or Libc.EPERM => null,
            var errno => throw Error(errno, name),
        };
    }

    /// <summary>Whether the fscrypt key of this encrypted directory or file is present, as the file system's keyring says.</summary>
    /// <returns>
    /// True when it is, or when this is not encrypted on a file system that can encrypt; false when a v2 policy's key
    /// is absent or being removed; null when it cannot be told: a v1 policy, whose key may sit in a process keyring the
    /// kernel does not report, or a file system or kernel (before 5.4) without these calls.
    /// </returns>
    public bool? HasEncryptionKey()
    {
        // struct fscrypt_get_policy_ex_arg: the policy's size, then the policy; a v2 one names its key at bytes 8-23.
        Span<byte> policy = stackalloc byte[sizeof(ulong) + FscryptPolicyV2Length];
        policy.Clear();
        MemoryMarshal.Write(policy, (ulong)FscryptPolicyV2Length);
        fixed (byte* p = policy)
        {
            if (Libc.Ioctl(this, Libc.FS_IOC_GET_ENCRYPTION_POLICY_EX, p) != 0)
            {
                return Marshal.GetLastPInvokeError() switch
                {
                    Libc.ENODATA => true,
                    Libc.ENOTTY or Libc.EOPNOTSUPP => null,
                    var errno => throw Error(errno, "(encryption policy)"),
                };
            }
        }

        if (policy[sizeof(ulong)] != FscryptPolicyV2)
        {
            return null;
        }

        // struct fscrypt_get_key_status_arg: the key specifier (type, reserved, 32 bytes), reserved words, the status.
        Span<byte> key = stackalloc byte[128];
        key.Clear();
        MemoryMarshal.Write(key, FscryptKeySpecIdentifier);
        policy.Slice(sizeof(ulong) + 8, 16).CopyTo(key[8..]);
        fixed (byte* k = key)
        {
            if (Libc.Ioctl(this, Libc.FS_IOC_GET_ENCRYPTION_KEY_STATUS, k) != 0)
            {
                return Marshal.GetLastPInvokeError() switch
                {
                    Libc.ENOTTY or Libc.EOPNOTSUPP => null,
                    var errno => throw Error(errno, "(encryption key status)"),
                };
            }
        }

        return MemoryMarshal.Read<uint>(key[64..]) == FscryptKeyStatusPresent;
    }

    /// <summary>Whether this, of status <paramref name="status"/>, is encrypted (fscrypt) and its key is known to be absent.</summary>
    public bool IsEncryptedWithoutKey(in FileStatus status) => status.IsEncrypted && HasEncryptionKey() == false;

    /// <summary>The raw target of a child symlink.</summary>
    public byte[] ReadLinkAt(ReadOnlySpan<byte> name)
    {
        Span<byte> nameBuffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, nameBuffer);
        var size = 256;
        while (true)
        {
            var target = new byte[size];
            nint n;
            fixed (byte* p = z)
            fixed (byte* t = target)
            {
                n = Libc.ReadLinkAt(this, p, t, (nuint)target.Length);
            }

            if (n < 0)
            {
                throw LookupError(Marshal.GetLastPInvokeError(), name);
            }

            if (n < target.Length)
            {
                return target.AsSpan(0, (int)n).ToArray();
            }

            size *= 4;
        }
    }

    /// <summary>Reads at an offset; returns 0 at end of file.</summary>
    public int ReadAt(Span<byte> destination, long offset)
    {
        fixed (byte* p = destination)
        {
            while (true)
            {
                var n = Libc.PRead(this, p, (nuint)destination.Length, offset);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR)
                {
                    throw Error(errno, "(file content)"u8);
                }
            }
        }
    }

    /// <summary>The entries of this directory, without "." and "..", with their d_type and inode as listed.</summary>
    /// <remarks>
    /// getdents64 reads from the descriptor's file offset, which a second listing would find at the end. The
    /// listing goes through a fresh descriptor of the same directory instead, so a long-lived descriptor such as
    /// the store root lists in full every time, also from several threads at once.
    /// </remarks>
    public List<DirectoryEntry> ReadDirectory()
    {
        using var listing = OpenDirectoryAt("."u8);
        return listing.ReadDirectoryOnce();
    }

    /// <summary>The entries of this directory, read through this very descriptor from its read position.</summary>
    /// <remarks>Only for a descriptor that was just opened and that nothing else lists: it saves an open and a close.</remarks>
    public List<DirectoryEntry> ReadDirectoryOnce()
    {
        var entries = new List<DirectoryEntry>();
        var buffer = ArrayPool<byte>.Shared.Rent(ListingBufferLength);
        try
        {
            fixed (byte* b = buffer)
            {
                while (true)
                {
                    var n = Libc.GetDents64(this, b, (nuint)buffer.Length);
                    if (n < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno == Libc.EINTR)
                        {
                            continue;
                        }

                        throw Error(errno, "(directory listing)"u8);
                    }

                    if (n == 0)
                    {
                        return entries;
                    }

                    for (var offset = 0; offset < n;)
                    {
                        // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
                        var inode = *(ulong*)(b + offset);
                        var reclen = *(ushort*)(b + offset + 16);
                        var type = b[offset + 18];
                        var name = new ReadOnlySpan<byte>(b + offset + 19, reclen - 19);
                        name = name[..name.IndexOf((byte)0)];
                        if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                        {
                            entries.Add(new DirectoryEntry(name.ToArray(), type, inode));
                        }

                        offset += reclen;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>All extended attribute names of this descriptor.</summary>
    public List<byte[]> ListXattrs() => ListXattrs(null, default);

    /// <summary>All extended attribute names of a child, without following a symlink and without opening it.</summary>
    public List<byte[]> ListXattrsAt(ReadOnlySpan<byte> child) => ListXattrs(child.ToArray(), child);

    /// <summary>One extended attribute's raw value, or null when it is not set.</summary>
    public byte[]? GetXattr(ReadOnlySpan<byte> name) => GetXattr(null, name);

    /// <summary>One extended attribute of a child, or null when it is not set.</summary>
    public byte[]? GetXattrAt(ReadOnlySpan<byte> child, ReadOnlySpan<byte> name) => GetXattr(child.ToArray(), name);

    // Before Linux 6.13 there is no *xattrat; /proc/self/fd/N then resolves to this very directory, so the child
    // is still looked up in it, not by path, only at the price of a walk through procfs. The number in the path is
    // no handle a call holds open: the descriptor is held until ReleaseProcPath, so its number stays this directory's.
    private byte[] HoldProcPath(ReadOnlySpan<byte> child)
    {
        var held = false;
        DangerousAddRef(ref held);
        return [.. Encoding.ASCII.GetBytes($"/proc/self/fd/{(int)handle}/"), .. child, 0];
    }

    private void ReleaseProcPath()
    {
        var errno = Marshal.GetLastPInvokeError();
        DangerousRelease();
        Marshal.SetLastPInvokeError(errno);
    }

    // child null: this descriptor itself.
    private List<byte[]> ListXattrs(byte[]? child, ReadOnlySpan<byte> displayName)
    {
        Span<byte> small = stackalloc byte[XattrListBufferLength];
        var list = small;
        byte[]? large = null;
        var childZ = child is null ? null : NulTerminated(child);
        while (true)
        {
            var n = ListXattrsInto(childZ, list);
            if (n >= 0)
            {
                return SplitNames(list[..(int)n]);
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ERANGE)
            {
                large = new byte[(large?.Length ?? list.Length) * 4];
                list = large;
                continue;
            }

            if (errno == Libc.EOPNOTSUPP)
            {
                return [];
            }

            throw Error(errno, child is null ? "(xattr list)"u8 : displayName);
        }
    }

    private nint ListXattrsInto(byte[]? childZ, Span<byte> list)
    {
        fixed (byte* l = list)
        {
            if (childZ is null)
            {
                return Libc.FListXattr(this, l, (nuint)list.Length);
            }

            if (!s_noXattrAt)
            {
                fixed (byte* c = childZ)
                {
                    var n = Libc.ListXattrAt(this, c, Libc.AT_SYMLINK_NOFOLLOW, l, (nuint)list.Length);
                    if (n >= 0 || !XattrAtMissing(Marshal.GetLastPInvokeError()))
                    {
                        return n;
                    }
                }
            }

            var path = HoldProcPath(childZ.AsSpan(0, childZ.Length - 1));
            try
            {
                fixed (byte* p = path)
                {
                    return Libc.LListXattr(p, l, (nuint)list.Length);
                }
            }
            finally
            {
                ReleaseProcPath();
            }
        }
    }

    private static List<byte[]> SplitNames(ReadOnlySpan<byte> list)
    {
        var names = new List<byte[]>();
        foreach (var range in list.Split((byte)0))
        {
            if (range.End.Value > range.Start.Value)
            {
                names.Add(list[range].ToArray());
            }
        }

        return names;
    }

    private byte[]? GetXattr(byte[]? child, ReadOnlySpan<byte> name)
    {
        Span<byte> nameBuffer = stackalloc byte[NameBufferLength];
        var z = ToCString(name, nameBuffer);
        var childZ = child is null ? null : NulTerminated(child);
        var size = 256;
        while (true)
        {
            var value = new byte[size];
            var n = GetXattrInto(childZ, z, value);
            if (n >= 0)
            {
                return value.AsSpan(0, (int)n).ToArray();
            }

            var errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Libc.ERANGE:
                    size *= 4;
                    continue;
                case Libc.ENODATA or Libc.EOPNOTSUPP:
                    return null;
                default:
                    throw Error(errno, name);
            }
        }
    }

    private nint GetXattrInto(byte[]? childZ, ReadOnlySpan<byte> nameZ, byte[] value)
    {
        fixed (byte* a = nameZ)
        fixed (byte* v = value)
        {
            if (childZ is null)
            {
                return Libc.FGetXattr(this, a, v, (nuint)value.Length);
            }

            if (!s_noXattrAt)
            {
                fixed (byte* c = childZ)
                {
                    var args = new XattrArgs { Value = (ulong)v, Size = (uint)value.Length };
                    var n = Libc.GetXattrAt(this, c, Libc.AT_SYMLINK_NOFOLLOW, a, &args);
                    if (n >= 0 || !XattrAtMissing(Marshal.GetLastPInvokeError()))
                    {
                        return n;
                    }
                }
            }

            var path = HoldProcPath(childZ.AsSpan(0, childZ.Length - 1));
            try
            {
                fixed (byte* p = path)
                {
                    return Libc.LGetXattr(p, a, v, (nuint)value.Length);
                }
            }
            finally
            {
                ReleaseProcPath();
            }
        }
    }

    // A kernel without *xattrat says ENOSYS; a seccomp filter that does not know them may say EPERM instead.
    private static bool XattrAtMissing(int errno)
    {
        if (errno is Libc.ENOSYS or Libc.EPERM)
        {
            s_noXattrAt = true;
            return true;
        }

        return false;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;

    private static ReadOnlySpan<byte> ToCString(ReadOnlySpan<byte> name, Span<byte> buffer)
    {
        if (name.Length < buffer.Length)
        {
            name.CopyTo(buffer);
            buffer[name.Length] = 0;
            return buffer[..(name.Length + 1)];
        }

        return NulTerminated(name.ToArray());
    }

    private static byte[] NulTerminated(byte[] bytes)
    {
        var z = new byte[bytes.Length + 1];
        bytes.CopyTo(z, 0);
        return z;
    }

    // Without its key a directory fscrypt encrypts looks up encoded names only: a name missing there may well exist.
    private NativeIOException LookupError(int errno, ReadOnlySpan<byte> name) =>
        errno == Libc.ENOENT && IsEncryptedWithoutKey(Stat())
            ? new NativeIOException(Libc.ENOKEY, Encoding.UTF8.GetString(name), NativeIOException.KeyNotLoaded)
            : Error(errno, name);

    private static NativeIOException Error(int errno, ReadOnlySpan<byte> name) =>
        new(errno, Encoding.UTF8.GetString(name));

    private static NativeIOException Error(int errno, string name) => new(errno, name);
}
