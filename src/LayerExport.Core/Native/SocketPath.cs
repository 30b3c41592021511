using System.Runtime.InteropServices;
using System.Text;

namespace LayerExport.Core.Native;

/// <summary>What stands at the path a Unix domain socket listener is to be bound to.</summary>
public static unsafe class SocketPath
{
    /// <summary>Nothing, a socket, or something else (a file, a directory, a symlink: never to be removed).</summary>
    public static SocketPathKind Inspect(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        StatxBuffer buffer;
        fixed (byte* p = bytes)
        {
            if (Libc.StatxWorkingDirectory(Libc.AT_FDCWD, p, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &buffer) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == Libc.ENOENT ? SocketPathKind.Nothing : throw new NativeIOException(errno, path);
            }
        }

        return (buffer.Mode & Libc.S_IFMT) == Libc.S_IFSOCK ? SocketPathKind.Socket : SocketPathKind.Other;
    }

    /// <summary>The group ID that <paramref name="group"/> names: a number, or a group name the system knows; null for neither.</summary>
    /// <remarks>Names go through getgrnam, so groups from NSS (LDAP, sssd) count as well as /etc/group; call it at start-up only.</remarks>
    public static uint? ResolveGroup(string group)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        if (uint.TryParse(group, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        var bytes = Encoding.UTF8.GetBytes(group + "\0");
        fixed (byte* p = bytes)
        {
            var entry = Libc.GetGroupByName(p);
            return entry == 0 ? null : *(uint*)(entry + (2 * sizeof(nint)));
        }
    }

    /// <summary>Gives the socket file (not what a symlink there would point to) to <paramref name="groupId"/>, keeping its owner.</summary>
    public static void SetGroup(string path, uint groupId)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (Libc.FChownAt(Libc.AT_FDCWD, p, uint.MaxValue, groupId, Libc.AT_SYMLINK_NOFOLLOW) != 0)
            {
                throw new NativeIOException(Marshal.GetLastPInvokeError(), path);
            }
        }
    }
}

/// <summary>The kinds of thing <see cref="SocketPath.Inspect"/> tells apart.</summary>
public enum SocketPathKind
{
    /// <summary>The path does not exist.</summary>
    Nothing,

    /// <summary>A Unix domain socket file, live or left behind.</summary>
    Socket,

    /// <summary>Anything else.</summary>
    Other,
}
