using System.ComponentModel;
using System.Runtime.InteropServices;

namespace LayerExport.Core.Tests.Support;

/// <summary>fscrypt's key ioctls, as <c>fscryptctl</c> makes them: a v2 key added to a file system, a directory encrypted with it, the key removed again.</summary>
internal static unsafe partial class FscryptKeys
{
    // _IOWR('f', 23, struct fscrypt_add_key_arg), _IOR('f', 19, struct fscrypt_policy_v1), _IOWR('f', 24, struct fscrypt_remove_key_arg).
    private const nuint AddKey = 0xC0506617;
    private const nuint SetPolicy = 0x800C6613;
    private const nuint RemoveKey = 0xC0406618;

    private const uint KeySpecIdentifier = 2;
    private const byte PolicyV2 = 2;
    private const byte ContentsAes256Xts = 1;
    private const byte FilenamesAes256Cts = 4;
    private const byte PadFilenamesTo32 = 3;
    private const int RawKeyLength = 64;
    private const int ReadOnlyCloseOnExec = 0x80000;

    /// <summary>Adds a fixed 64-byte key to the file system mounted at <paramref name="mountPoint"/>; the same key gives the same identifier.</summary>
    public static byte[] Add(string mountPoint)
    {
        // struct fscrypt_add_key_arg: key specifier (type, reserved, 32 bytes), raw_size, key_id, 8 reserved words, raw key.
        var argument = new byte[80 + RawKeyLength];
        MemoryMarshal.Write(argument, KeySpecIdentifier);
        MemoryMarshal.Write(argument.AsSpan(40), (uint)RawKeyLength);
        for (var i = 0; i < RawKeyLength; i++)
        {
            argument[80 + i] = (byte)(i * 7);
        }

        Call(mountPoint, AddKey, argument, "FS_IOC_ADD_ENCRYPTION_KEY");
        return argument[8..24];
    }

    /// <summary>Encrypts the empty directory <paramref name="directory"/> with the key <paramref name="identifier"/> names.</summary>
    public static void Encrypt(string directory, byte[] identifier)
    {
        // struct fscrypt_policy_v2: version, contents mode, file names mode, flags, 4 reserved bytes, key identifier.
        var policy = new byte[24];
        policy[0] = PolicyV2;
        policy[1] = ContentsAes256Xts;
        policy[2] = FilenamesAes256Cts;
        policy[3] = PadFilenamesTo32;
        identifier.CopyTo(policy, 8);
        Call(directory, SetPolicy, policy, "FS_IOC_SET_ENCRYPTION_POLICY");
    }

    /// <summary>Removes the key from the file system; fails when a file it unlocked is still open, which would keep its names readable.</summary>
    public static void Remove(string mountPoint, byte[] identifier)
    {
        // struct fscrypt_remove_key_arg: key specifier, removal_status_flags, 5 reserved words.
        var argument = new byte[64];
        MemoryMarshal.Write(argument, KeySpecIdentifier);
        identifier.CopyTo(argument, 8);
        Call(mountPoint, RemoveKey, argument, "FS_IOC_REMOVE_ENCRYPTION_KEY");
        var flags = MemoryMarshal.Read<uint>(argument.AsSpan(40));
        Assert.True(flags == 0, $"the key was not wholly removed (removal status flags {flags:x}): a file it unlocked is still in use");
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

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, byte* argument);
}
