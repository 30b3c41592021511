using System.Runtime.InteropServices;

namespace LayerExport.Core.Native;

/// <summary>The few Linux system calls the reader needs, bound straight to libc.</summary>
/// <remarks>
/// .NET's file APIs resolve whole paths and follow symlinks in every component but the last, so a
/// concurrent rename could steer them outside the layer. Everything here works relative to an already
/// opened directory descriptor, which is what keeps reading inside the layer. Descriptors pass as
/// <see cref="SafeHandle"/>s, so a descriptor disposed on another thread during a call is closed only after it:
/// its number cannot be reused for another file while a call still looks through it.
/// </remarks>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EAGAIN = 11;
    public const int EBUSY = 16;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ETIMEDOUT = 110;
    public const int ESTALE = 116;
    public const int EPERM = 1;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EXDEV = 18;
    public const int EINVAL = 22;
    public const int ENOSYS = 38;
    public const int ERANGE = 34;
    public const int ELOOP = 40;
    public const int ENODATA = 61;
    public const int EOPNOTSUPP = 95;
    public const int ENOTTY = 25;
    public const int ENOKEY = 126;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_NONBLOCK = 0x800;
    public const int O_NOATIME = 0x40000;
    public const int O_CLOEXEC = 0x80000;
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int AT_EACCESS = 0x200;
    public const int R_OK = 4;
    public const uint STATX_BASIC_STATS = 0x7ff;
    public const uint STATX_MNT_ID = 0x1000;
    public const ulong STATX_ATTR_MOUNT_ROOT = 0x2000;
    public const ulong STATX_ATTR_ENCRYPTED = 0x800;

    public const int S_IFMT = 0xF000;
    public const int S_IFSOCK = 0xC000;
    public const int S_IFLNK = 0xA000;
    public const int S_IFREG = 0x8000;
    public const int S_IFBLK = 0x6000;
    public const int S_IFDIR = 0x4000;
    public const int S_IFCHR = 0x2000;
    public const int S_IFIFO = 0x1000;

    public const byte DT_UNKNOWN = 0;
    public const byte DT_CHR = 2;
    public const byte DT_DIR = 4;
    public const byte DT_REG = 8;
    public const byte DT_LNK = 10;

    private static readonly bool IsArm = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;

    // These two differ between the x86 and the Arm ABIs of Linux.
    public static int O_DIRECTORY => IsArm ? 0x4000 : 0x10000;
    public static int O_NOFOLLOW => IsArm ? 0x8000 : 0x20000;

    [LibraryImport(Library, EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(SafeHandle dirfd, byte* path, int flags, int mode);

    /// <summary><c>openat(2)</c> for <see cref="AT_FDCWD"/>, the one descriptor that is not a handle.</summary>
    [LibraryImport(Library, EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAtWorkingDirectory(int atFdcwd, byte* path, int flags, int mode);

    [LibraryImport(Library, EntryPoint = "mkdirat", SetLastError = true)]
    public static partial int MkdirAt(SafeHandle dirfd, byte* path, uint mode);

    [LibraryImport(Library, EntryPoint = "renameat", SetLastError = true)]
    public static partial int RenameAt(SafeHandle olddirfd, byte* oldpath, SafeHandle newdirfd, byte* newpath);

    [LibraryImport(Library, EntryPoint = "unlinkat", SetLastError = true)]
    public static partial int UnlinkAt(SafeHandle dirfd, byte* path, int flags);

    [LibraryImport(Library, EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint PWrite(SafeHandle fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "fchownat", SetLastError = true)]
    public static partial int FChownAt(int dirfd, byte* path, uint owner, uint group, int flags);

    // struct group* getgrnam(const char*): the gid is the third field, after two pointers.
    [LibraryImport(Library, EntryPoint = "getgrnam", SetLastError = true)]
    public static partial nint GetGroupByName(byte* name);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true)]
    public static partial int Statx(SafeHandle dirfd, byte* path, int flags, uint mask, StatxBuffer* buffer);

    /// <summary><c>statx(2)</c> for <see cref="AT_FDCWD"/>, the one descriptor that is not a handle.</summary>
    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true)]
    public static partial int StatxWorkingDirectory(int atFdcwd, byte* path, int flags, uint mask, StatxBuffer* buffer);

    [LibraryImport(Library, EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(SafeHandle fd, byte* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "readlinkat", SetLastError = true)]
    public static partial nint ReadLinkAt(SafeHandle dirfd, byte* path, byte* buffer, nuint size);

    [LibraryImport(Library, EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(SafeHandle fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "flistxattr", SetLastError = true)]
    public static partial nint FListXattr(SafeHandle fd, byte* list, nuint size);

    [LibraryImport(Library, EntryPoint = "fgetxattr", SetLastError = true)]
    public static partial nint FGetXattr(SafeHandle fd, byte* name, byte* value, nuint size);

    [LibraryImport(Library, EntryPoint = "llistxattr", SetLastError = true)]
    public static partial nint LListXattr(byte* path, byte* list, nuint size);

    [LibraryImport(Library, EntryPoint = "lgetxattr", SetLastError = true)]
    public static partial nint LGetXattr(byte* path, byte* name, byte* value, nuint size);

    // Linux 6.13 added *xattrat, relative to a directory descriptor; the numbers are the same on every architecture.
    private const nint SysGetXattrAt = 464;
    private const nint SysListXattrAt = 465;

    /// <summary><c>listxattrat(2)</c>; ENOSYS (or EPERM under a seccomp filter) before Linux 6.13.</summary>
    public static nint ListXattrAt(SafeHandle dirfd, byte* path, uint atFlags, byte* list, nuint size) =>
        Syscall5(SysListXattrAt, dirfd, path, atFlags, list, size);

    /// <summary><c>getxattrat(2)</c>; ENOSYS (or EPERM under a seccomp filter) before Linux 6.13.</summary>
    public static nint GetXattrAt(SafeHandle dirfd, byte* path, uint atFlags, byte* name, XattrArgs* args) =>
        Syscall6(SysGetXattrAt, dirfd, path, atFlags, name, args, (nuint)sizeof(XattrArgs));

    // openat2 has the same number on every architecture (Linux 5.6).
    private const nint SysOpenAt2 = 437;

    public const ulong RESOLVE_NO_XDEV = 0x01;
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    public const ulong RESOLVE_IN_ROOT = 0x10;

    /// <summary><c>openat2(2)</c>; ENOSYS (or EPERM under a seccomp filter) before Linux 5.6.</summary>
    public static int OpenAt2(SafeHandle dirfd, byte* path, OpenHow* how) =>
        (int)Syscall4(SysOpenAt2, dirfd, path, how, (nuint)sizeof(OpenHow));

    // faccessat2 has the same number on every architecture (Linux 5.8).
    private const nint SysFAccessAt2 = 439;

    /// <summary>
    /// <c>faccessat2(2)</c>, called directly: where the kernel lacks it (ENOSYS, or EPERM under a seccomp filter) glibc
    /// would judge from the mode bits itself, blind to capabilities and ACLs.
    /// </summary>
    public static int FAccessAt2(SafeHandle dirfd, byte* path, int mode, int flags) =>
        (int)Syscall4(SysFAccessAt2, dirfd, path, mode, flags);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall4(nint number, SafeHandle dirfd, byte* path, OpenHow* how, nuint size);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall4(nint number, SafeHandle dirfd, byte* path, int mode, int flags);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall5(nint number, SafeHandle dirfd, byte* path, uint atFlags, byte* list, nuint size);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall6(nint number, SafeHandle dirfd, byte* path, uint atFlags, byte* name, XattrArgs* args, nuint size);

    // _IOWR('f', 22, __u8[9]) and _IOWR('f', 26, struct fscrypt_get_key_status_arg), alike on x86 and Arm.
    public const nuint FS_IOC_GET_ENCRYPTION_POLICY_EX = 0xC0096616;
    public const nuint FS_IOC_GET_ENCRYPTION_KEY_STATUS = 0xC080661A;

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(SafeHandle fd, nuint request, byte* argument);

    [LibraryImport(Library, EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    /// <summary>The C library's message for an errno value.</summary>
    public static string Describe(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";
}

/// <summary>The kernel's <c>struct open_how</c> of <c>openat2(2)</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct OpenHow
{
    public ulong Flags;
    public ulong Mode;
    public ulong Resolve;
}

/// <summary>The kernel's <c>struct xattr_args</c> of <c>getxattrat(2)</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct XattrArgs
{
    public ulong Value;
    public uint Size;
    public uint Flags;
}

/// <summary>The kernel's <c>struct statx</c>, whose layout is the same on every architecture.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct StatxBuffer
{
    [FieldOffset(0)] public uint Mask;
    [FieldOffset(8)] public ulong Attributes;
    [FieldOffset(16)] public uint NLink;
    [FieldOffset(20)] public uint Uid;
    [FieldOffset(24)] public uint Gid;
    [FieldOffset(28)] public ushort Mode;
    [FieldOffset(32)] public ulong Ino;
    [FieldOffset(40)] public ulong Size;
    [FieldOffset(56)] public ulong AttributesMask;
    [FieldOffset(64)] public long AtimeSec;
    [FieldOffset(72)] public uint AtimeNsec;
    [FieldOffset(96)] public long CtimeSec;
    [FieldOffset(104)] public uint CtimeNsec;
    [FieldOffset(112)] public long MtimeSec;
    [FieldOffset(120)] public uint MtimeNsec;
    [FieldOffset(128)] public uint RdevMajor;
    [FieldOffset(132)] public uint RdevMinor;
    [FieldOffset(136)] public uint DevMajor;
    [FieldOffset(140)] public uint DevMinor;
    [FieldOffset(144)] public ulong MntId;
}
