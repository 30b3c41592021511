using System.ComponentModel;
using System.Runtime.InteropServices;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// fscrypt's key ioctls, as <c>fscryptctl</c> makes them: a key added to a file system, a directory encrypted with it,
/// the key removed again. A key is named by its 16-byte identifier (a v2 policy's) or its 8-byte descriptor (a v1
/// policy's); a v1 key can also be given the old way, in a keyring of the process rather than the file system's.
/// </summary>
internal static unsafe partial class FscryptKeys
{
    // _IOWR('f', 23, struct fscrypt_add_key_arg), _IOR('f', 19, struct fscrypt_policy_v1), _IOWR('f', 24, struct fscrypt_remove_key_arg).
    private const nuint AddKey = 0xC0506617;
    private const nuint SetPolicy = 0x800C6613;
    private const nuint RemoveKey = 0xC0406618;
    private const nuint GetKeyStatus = 0xC080661A;

    private const uint KeySpecDescriptor = 1;
    private const uint KeySpecIdentifier = 2;
    private const int DescriptorLength = 8;
    private const byte PolicyV1 = 0;
    private const byte PolicyV2 = 2;
    private const byte ContentsAes256Xts = 1;
    private const byte FilenamesAes256Cts = 4;
    private const byte PadFilenamesTo32 = 3;
    private const int RawKeyLength = 64;
    private const int ReadOnlyCloseOnExec = 0x80000;
    private const uint FilesBusy = 1;
    private const int ThreadKeyring = -1;
    private const int KeyctlInvalidate = 21;

    // add_key(2) and keyctl(2), which glibc does not wrap.
    private static readonly (long AddKey, long Keyctl) KeySyscalls = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? (217, 219) : (248, 250);

    /// <summary>Adds a fixed 64-byte key to the file system mounted at <paramref name="mountPoint"/>; the same key gives the same identifier.</summary>
    public static byte[] Add(string mountPoint) => AddRawKey(mountPoint, KeySpecIdentifier, []);

    /// <summary>Adds the same fixed key to the file system as the v1 key <paramref name="descriptor"/> (8 bytes) names; only root may.</summary>
    public static void Add(string mountPoint, byte[] descriptor) => AddRawKey(mountPoint, KeySpecDescriptor, descriptor);

    /// <summary>Encrypts the empty directory <paramref name="directory"/> with the key <paramref name="key"/> names: a v2 policy for an identifier, a v1 one for a descriptor.</summary>
    public static void Encrypt(string directory, byte[] key)
    {
        // struct fscrypt_policy_v2: version, contents mode, file names mode, flags, 4 reserved bytes, key identifier;
        // struct fscrypt_policy_v1: version, the modes, flags, key descriptor.
        var v1 = key.Length == DescriptorLength;
        var policy = new byte[v1 ? 12 : 24];
        policy[0] = v1 ? PolicyV1 : PolicyV2;
        policy[1] = ContentsAes256Xts;
        policy[2] = FilenamesAes256Cts;
        policy[3] = PadFilenamesTo32;
        key.CopyTo(policy, v1 ? 4 : 8);
        Call(directory, SetPolicy, policy, "FS_IOC_SET_ENCRYPTION_POLICY");
    }

    /// <summary>
    /// Removes the key from the file system; fails when a file it unlocked is still open, which would keep its names
    /// readable, unless <paramref name="filesInUse"/> says one is: then the key is left being removed (incompletely).
    /// </summary>
    public static void Remove(string mountPoint, byte[] key, bool filesInUse = false)
    {
        // struct fscrypt_remove_key_arg: key specifier, removal_status_flags, 5 reserved words.
        var argument = new byte[64];
        Specify(argument, key);
        Call(mountPoint, RemoveKey, argument, "FS_IOC_REMOVE_ENCRYPTION_KEY");
        var flags = MemoryMarshal.Read<uint>(argument.AsSpan(40));
        Assert.True(flags == (filesInUse ? FilesBusy : 0), $"removal status flags {flags:x}: a file the key unlocked should {(filesInUse ? "" : "not ")}be in use");
    }

    /// <summary>What the file system's keyring says of the key: 1 absent, 2 present, 3 being removed.</summary>
    public static uint Status(string mountPoint, byte[] key)
    {
        // struct fscrypt_get_key_status_arg: key specifier, 6 reserved words, status, status flags, user count.
        var argument = new byte[128];
        Specify(argument, key);
        Call(mountPoint, GetKeyStatus, argument, "FS_IOC_GET_ENCRYPTION_KEY_STATUS");
        return MemoryMarshal.Read<uint>(argument.AsSpan(64));
    }

    /// <summary>
    /// Gives the calling thread the fixed key the old way, as the logon key <c>fscrypt:&lt;descriptor&gt;</c> in its thread
    /// keyring, where a v1 policy's files look when the file system has no such key; disposing (on the same thread)
    /// invalidates it.
    /// </summary>
    public static IDisposable AddToThreadKeyring(byte[] descriptor)
    {
        // struct fscrypt_key: mode (unused), 64 raw bytes, size.
        var payload = new byte[4 + RawKeyLength + 4];
        RawKey().CopyTo(payload, 4);
        MemoryMarshal.Write(payload.AsSpan(4 + RawKeyLength), (uint)RawKeyLength);
        var serial = AddKeySyscall(KeySyscalls.AddKey, "logon", "fscrypt:" + Convert.ToHexStringLower(descriptor), payload, payload.Length, ThreadKeyring);
        return serial < 0 ? throw Failed("add_key") : new ThreadKey(serial);
    }

    private static byte[] AddRawKey(string mountPoint, uint type, byte[] descriptor)
    {
        // struct fscrypt_add_key_arg: key specifier (type, reserved, 32 bytes), raw_size, key_id, 8 reserved words, raw key.
        var argument = new byte[80 + RawKeyLength];
        MemoryMarshal.Write(argument, type);
        descriptor.CopyTo(argument, 8);
        MemoryMarshal.Write(argument.AsSpan(40), (uint)RawKeyLength);
        RawKey().CopyTo(argument, 80);
        Call(mountPoint, AddKey, argument, "FS_IOC_ADD_ENCRYPTION_KEY");
        return argument[8..24];
    }

    private static byte[] RawKey()
    {
        var key = new byte[RawKeyLength];
        for (var i = 0; i < RawKeyLength; i++)
        {
            key[i] = (byte)(i * 7);
        }

        return key;
    }

    // struct fscrypt_key_specifier: its type (by the key's length), 4 reserved bytes, then the descriptor or identifier.
    private static void Specify(byte[] argument, byte[] key)
    {
        MemoryMarshal.Write(argument, key.Length == DescriptorLength ? KeySpecDescriptor : KeySpecIdentifier);
        key.CopyTo(argument, 8);
    }

    // .NET opens no directory, and these ioctls are made on one (the mount point, the directory to encrypt).
    private static void Call(string path, nuint request, byte[] argument, string what)
    {
        var fd = Open(path, ReadOnlyCloseOnExec);
        if (fd < 0)
        {
            throw Failed($"open of {path}");
        }

        try
        {
            fixed (byte* a = argument)
            {
                if (Ioctl(fd, request, a) != 0)
                {
                    throw Failed($"{what} on {path}");
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static IOException Failed(string what)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what}: {new Win32Exception(errno).Message} (errno {errno})");
    }

    [LibraryImport("libc", EntryPoint = "syscall", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial long AddKeySyscall(long number, string type, string description, byte[] payload, nint length, nint keyring);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long KeyctlSyscall(long number, nint operation, nint serial);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, byte* argument);

    // A key in the calling thread's keyring, invalidated on dispose.
    private sealed class ThreadKey(long serial) : IDisposable
    {
        public void Dispose()
        {
            if (KeyctlSyscall(KeySyscalls.Keyctl, KeyctlInvalidate, (nint)serial) != 0)
            {
                throw Failed("keyctl(KEYCTL_INVALIDATE)");
            }
        }
    }
}
