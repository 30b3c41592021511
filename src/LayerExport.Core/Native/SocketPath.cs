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
            if (Libc.Statx(Libc.AT_FDCWD, p, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &buffer) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == Libc.ENOENT ? SocketPathKind.Nothing : throw new NativeIOException(errno, path);
            }
        }

        return (buffer.Mode & Libc.S_IFMT) == Libc.S_IFSOCK ? SocketPathKind.Socket : SocketPathKind.Other;
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
