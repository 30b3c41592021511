using System.ComponentModel;
using System.Runtime.InteropServices;

namespace LayerExport.Core.Tests.Support;

/// <summary>The libc calls the tests need to build special files, read back their metadata and measure the C heap.</summary>
internal static unsafe partial class Posix
{
    private const string Library = "libc";
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;

    private const int PrSetNoNewPrivileges = 38;
    private const ushort BpfLoadWordAbsolute = 0x20;
    private const ushort BpfJumpIfEqual = 0x15;
    private const ushort BpfJumpIfSet = 0x45;
    private const ushort BpfReturn = 0x06;

    // struct seccomp_data: nr, arch, instruction pointer, then six 8-byte arguments; openat's flags are the third (low word first).
    private const uint FlagsArgumentOffset = 16 + (2 * 8);
    private const uint NoAccessTimeFlag = 0x40000;
    private const uint Eperm = 1;
    private const uint SeccompReturnErrno = 0x0005_0000;
    private const uint SeccompReturnNotify = 0x7fc0_0000;
    private const uint SeccompReturnAllow = 0x7fff_0000;
    private const uint SeccompSetModeFilter = 1;
    private const uint Enosys = 38;
    private const int Enoent = 2;
    private const int Enotdir = 20;

    /// <summary>SECCOMP_FILTER_FLAG_NEW_LISTENER: the filter's notifications go to a descriptor the call returns.</summary>
    public const uint SeccompNewListener = 8;

    /// <summary>openat2(2)'s number, the same on every architecture.</summary>
    public const uint Openat2SyscallNumber = 437;

    /// <summary>getxattrat(2)'s number (Linux 6.13), the same on every architecture.</summary>
    public const uint GetxattratSyscallNumber = 464;

    /// <summary>listxattrat(2)'s number (Linux 6.13), the same on every architecture.</summary>
    public const uint ListxattratSyscallNumber = 465;

    /// <summary>faccessat2(2)'s number (Linux 5.8), the same on every architecture.</summary>
    public const uint Faccessat2SyscallNumber = 439;

    public const int CharacterDeviceType = 0x2000;
    public const int BlockDeviceType = 0x6000;
    public const int SocketType = 0xC000;

    public static void MakeNode(string path, int type, uint major, uint minor) =>
        Check(MkNod(path, (uint)type, MakeDevice(major, minor)), path);

    public static void MakeFifo(string path) => Check(MkFifo(path, Convert.ToUInt32("644", 8)), path);

    public static void HardLink(string existing, string newPath) => Check(Link(existing, newPath), newPath);

    public static void ChangeMode(string path, int mode) => Check(ChMod(path, (uint)mode), path);

    public static void ChangeOwner(string path, long uid, long gid) => Check(LChown(path, (uint)uid, (uint)gid), path);

    public static void SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* v = value)
        {
            Check(LSetXattr(path, name, v, (nuint)value.Length, 0), $"{path} {name}");
        }
    }

    public static void RemoveXattr(string path, string name) => Check(LRemoveXattr(path, name), $"{path} {name}");

    public static IReadOnlyList<string> ListXattrs(string path)
    {
        var buffer = new byte[CheckSize(LListXattr(path, null, 0), path)];
        nint size;
        fixed (byte* b = buffer)
        {
            size = CheckSize(LListXattr(path, b, (nuint)buffer.Length), path);
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)size).Split('\0', StringSplitOptions.RemoveEmptyEntries);
    }

    public static byte[] GetXattr(string path, string name)
    {
        var value = new byte[CheckSize(LGetXattr(path, name, null, 0), $"{path} {name}")];
        nint size;
        fixed (byte* v = value)
        {
            size = CheckSize(LGetXattr(path, name, v, (nuint)value.Length), $"{path} {name}");
        }

        return value[..(int)size];
    }

    /// <summary>rename(2) to a path given as raw bytes, which need not be UTF-8 (a .NET string cannot spell such a name).</summary>
    public static void Rename(string from, ReadOnlySpan<byte> to)
    {
        byte[] target = [.. to, 0];
        fixed (byte* t = target)
        {
            Check(RenameRaw(from, t), from);
        }
    }

    /// <summary>The bytes the file occupies on disk (st_blocks), less than its size when it has holes.</summary>
    public static long AllocatedBytes(string path)
    {
        var buffer = stackalloc byte[256];
        Check(Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buffer), path);
        return (long)*(ulong*)(buffer + 48) * 512;
    }

    /// <summary>Sets the modification (and access) time of <paramref name="path"/> itself, symlinks included.</summary>
    public static void SetModificationTime(string path, long seconds, long nanoseconds)
    {
        var times = stackalloc long[4] { seconds, nanoseconds, seconds, nanoseconds };
        Check(UtimensAt(AtFdCwd, path, times, AtSymlinkNoFollow), path);
    }

    /// <summary>Sets the access and modification times of <paramref name="path"/> itself, to the nanosecond.</summary>
    public static void SetTimes(string path, long accessSeconds, long accessNanoseconds, long modificationSeconds, long modificationNanoseconds)
    {
        var times = stackalloc long[4] { accessSeconds, accessNanoseconds, modificationSeconds, modificationNanoseconds };
        Check(UtimensAt(AtFdCwd, path, times, AtSymlinkNoFollow), path);
    }

    /// <summary>Bytes the C library's allocator has handed out and not had back, over every arena and mapped chunk (mallinfo2).</summary>
    public static long NativeHeapInUse()
    {
        var info = MallInfo2();
        return (long)(info.InUseInArenas + info.InUseMapped);
    }

    /// <summary>lstat(2) of <paramref name="path"/>.</summary>
    public static FileMetadata Stat(string path)
    {
        var buffer = stackalloc byte[256];
        Check(Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buffer), path);
        return Metadata(buffer);
    }

    /// <summary>lstat(2) of <paramref name="path"/>, or null when there is no such entry (nothing by that name, or a non-directory on the way).</summary>
    public static FileMetadata? TryStat(string path)
    {
        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buffer) != 0)
        {
            return Marshal.GetLastPInvokeError() is Enoent or Enotdir ? null : throw LastError(path);
        }

        return Metadata(buffer);
    }

    // The offsets are those of struct statx (linux/stat.h).
    private static FileMetadata Metadata(byte* buffer) =>
        new(
            Mode: *(ushort*)(buffer + 28),
            Uid: *(uint*)(buffer + 20),
            Gid: *(uint*)(buffer + 24),
            NLink: *(uint*)(buffer + 16),
            Inode: *(ulong*)(buffer + 32),
            Size: (long)*(ulong*)(buffer + 40),
            MtimeSeconds: *(long*)(buffer + 112),
            MtimeNanoseconds: *(uint*)(buffer + 120),
            RdevMajor: *(uint*)(buffer + 128),
            RdevMinor: *(uint*)(buffer + 132),
            Device: ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140),
            CtimeNanoseconds: (*(long*)(buffer + 96) * 1_000_000_000) + *(uint*)(buffer + 104));

    /// <summary>openat(2)'s number on this machine's architecture.</summary>
    public static uint OpenatSyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 56u : 257u;

    /// <summary>pread64(2)'s number on this machine's architecture.</summary>
    public static uint Pread64SyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 67u : 17u;

    /// <summary>statx(2)'s number on this machine's architecture.</summary>
    public static uint StatxSyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 291u : 332u;

    /// <summary>lgetxattr(2)'s number on this machine's architecture.</summary>
    public static uint LgetxattrSyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 9u : 192u;

    /// <summary>llistxattr(2)'s number on this machine's architecture.</summary>
    public static uint LlistxattrSyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 12u : 195u;

    /// <summary>flistxattr(2)'s number on this machine's architecture.</summary>
    public static uint FlistxattrSyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 13u : 196u;

    private static long SetresuidSyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 147 : 117;

    private static long SeccompSyscallNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 277 : 317;

    /// <summary>
    /// From now on openat2(2) fails with ENOSYS on the calling thread, as on Linux before 5.6. Other threads keep it;
    /// threads this one starts would inherit the filter, so it is meant for a thread that starts none.
    /// </summary>
    public static void RefuseOpenat2OnThisThread() => FailOnThisThread(Openat2SyscallNumber, (int)Enosys);

    /// <summary>
    /// From now on the system call <paramref name="syscallNumber"/> fails with <paramref name="errno"/> on the calling
    /// thread alone, as <see cref="RefuseOpenat2OnThisThread"/> does for openat2.
    /// </summary>
    public static void FailOnThisThread(uint syscallNumber, int errno) => FailOnThisThread([syscallNumber], errno);

    /// <summary>From now on each of <paramref name="syscallNumbers"/> fails with <paramref name="errno"/> on the calling thread alone.</summary>
    public static void FailOnThisThread(uint[] syscallNumbers, int errno)
    {
        var program = new List<SocketFilter> { new(BpfLoadWordAbsolute, 0, 0, 0) };
        foreach (var number in syscallNumbers)
        {
            program.Add(new(BpfJumpIfEqual, 0, 1, number));
            program.Add(new(BpfReturn, 0, 0, SeccompReturnErrno | (uint)errno));
        }

        program.Add(new(BpfReturn, 0, 0, SeccompReturnAllow));
        InstallSeccompFilter([.. program], flags: 0);
    }

    /// <summary>
    /// Sets the effective user of the calling thread alone (the raw setresuid(2), not glibc's, which would change every
    /// thread); the saved user stays, so a thread of a root process can switch back.
    /// </summary>
    public static void SetEffectiveUserOfThisThread(uint uid)
    {
        var unchanged = (nuint)uint.MaxValue;
        var result = Syscall(SetresuidSyscallNumber, unchanged, uid, (void*)unchanged);
        if (result != 0)
        {
            throw LastError("setresuid");
        }
    }

    /// <summary>From now on an openat with <c>O_NOATIME</c> fails with EPERM on the calling thread, as for a file of another user without CAP_FOWNER.</summary>
    public static void RefuseNoAccessTimeOpensOnThisThread() =>
        InstallSeccompFilter(WhenThirdArgumentHas(OpenatSyscallNumber, NoAccessTimeFlag, SeccompReturnErrno | Eperm), flags: 0);

    /// <summary>A filter program that hands the system call <paramref name="syscallNumber"/> to a listener and allows every other.</summary>
    public static SocketFilter[] NotifyOn(uint syscallNumber) =>
    [
        new(BpfLoadWordAbsolute, 0, 0, 0),
        new(BpfJumpIfEqual, 0, 1, syscallNumber),
        new(BpfReturn, 0, 0, SeccompReturnNotify),
        new(BpfReturn, 0, 0, SeccompReturnAllow),
    ];

    /// <summary>
    /// Like <see cref="NotifyOn(uint)"/>, but only the calls whose third argument (openat's flags) has
    /// <paramref name="bit"/> set go to the listener; the others are allowed.
    /// </summary>
    public static SocketFilter[] NotifyOnWhenThirdArgumentHas(uint syscallNumber, uint bit) =>
        WhenThirdArgumentHas(syscallNumber, bit, SeccompReturnNotify);

    // The system call with the bit set in its third argument gets the action; every other call is allowed.
    private static SocketFilter[] WhenThirdArgumentHas(uint syscallNumber, uint bit, uint action) =>
    [
        new(BpfLoadWordAbsolute, 0, 0, 0),
        new(BpfJumpIfEqual, 0, 3, syscallNumber),
        new(BpfLoadWordAbsolute, 0, 0, FlagsArgumentOffset),
        new(BpfJumpIfSet, 0, 1, bit),
        new(BpfReturn, 0, 0, action),
        new(BpfReturn, 0, 0, SeccompReturnAllow),
    ];

    /// <summary>Installs a seccomp filter on the calling thread only; returns what seccomp(2) returns (a listener's descriptor when one is asked for).</summary>
    public static int InstallSeccompFilter(SocketFilter[] program, uint flags)
    {
        // A seccomp filter binds only the thread that installs it (no SECCOMP_FILTER_FLAG_TSYNC).
        fixed (SocketFilter* instructions = program)
        {
            var filter = new SocketFilterProgram { Length = (ushort)program.Length, Filter = instructions };
            Check(PrCtl(PrSetNoNewPrivileges, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS");
            var result = (int)Syscall(SeccompSyscallNumber, SeccompSetModeFilter, flags, &filter);
            return result >= 0 ? result : throw LastError("seccomp");
        }
    }

    // glibc's makedev: 12 bits of major and 20 of minor in the classic positions, the rest above.
    private static ulong MakeDevice(uint major, uint minor) =>
        (minor & 0xffUL) | ((major & 0xfffUL) << 8) | ((minor & ~0xffUL) << 12) | ((major & ~0xfffUL) << 32);

    private static void Check(int result, string what)
    {
        if (result != 0)
        {
            throw LastError(what);
        }
    }

    private static nint CheckSize(nint result, string what) => result >= 0 ? result : throw LastError(what);

    private static IOException LastError(string what)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what}: {new Win32Exception(errno).Message} (errno {errno})");
    }

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nuint argument1, nuint argument2, void* argument3);

    [LibraryImport(Library, EntryPoint = "prctl", SetLastError = true)]
    private static partial int PrCtl(int option, nuint argument2, nuint argument3, nuint argument4, nuint argument5);

    [LibraryImport(Library, EntryPoint = "mknod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MkNod(string path, uint mode, ulong device);

    [LibraryImport(Library, EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MkFifo(string path, uint mode);

    [LibraryImport(Library, EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string newPath);

    [LibraryImport(Library, EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameRaw(string from, byte* to);

    [LibraryImport(Library, EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int ChMod(string path, uint mode);

    [LibraryImport(Library, EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LChown(string path, uint uid, uint gid);

    [LibraryImport(Library, EntryPoint = "lsetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LSetXattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Library, EntryPoint = "lremovexattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LRemoveXattr(string path, string name);

    [LibraryImport(Library, EntryPoint = "llistxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint LListXattr(string path, byte* list, nuint size);

    [LibraryImport(Library, EntryPoint = "lgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint LGetXattr(string path, string name, byte* value, nuint size);

    [LibraryImport(Library, EntryPoint = "utimensat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UtimensAt(int dirfd, string path, long* times, int flags);

    [LibraryImport(Library, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport(Library, EntryPoint = "mallinfo2")]
    private static partial MallocInfo MallInfo2();

    /// <summary>One classic BPF instruction (<c>struct sock_filter</c>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal readonly struct SocketFilter(ushort code, byte jumpIfTrue, byte jumpIfFalse, uint operand)
    {
        public readonly ushort Code = code;
        public readonly byte JumpIfTrue = jumpIfTrue;
        public readonly byte JumpIfFalse = jumpIfFalse;
        public readonly uint Operand = operand;
    }

    // glibc's struct mallinfo2: ten size_t fields; hblkhd is the fifth, uordblks the eighth.
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct MallocInfo
    {
        public readonly nuint Arena;
        public readonly nuint FreeChunks;
        public readonly nuint FastBins;
        public readonly nuint MappedChunks;
        public readonly nuint InUseMapped;
        public readonly nuint Unused;
        public readonly nuint FreeInFastBins;
        public readonly nuint InUseInArenas;
        public readonly nuint FreeInArenas;
        public readonly nuint Releasable;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SocketFilterProgram
    {
        public ushort Length;
        public SocketFilter* Filter;
    }
}
