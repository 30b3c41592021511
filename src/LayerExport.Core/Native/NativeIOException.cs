namespace LayerExport.Core.Native;

/// <summary>A failed system call, with its errno and the name it was about.</summary>
public sealed class NativeIOException : IOException
{
    /// <summary>Creates the exception for <paramref name="errno"/> on <paramref name="name"/>.</summary>
    public NativeIOException(int errno, string name)
        : this(errno, name, Libc.Describe(errno))
    {
    }

    /// <summary>Creates the exception for <paramref name="errno"/> on <paramref name="name"/>, for a reason the errno's text alone does not give.</summary>
    public NativeIOException(int errno, string name, string reason)
        : base($"{name}: {reason}") => (Errno, Name, Reason) = (errno, name, reason);

    /// <summary>Why a directory fscrypt encrypts cannot be read: its key is not loaded.</summary>
    public static string KeyNotLoaded => $"{Libc.Describe(Libc.ENOKEY)}: the directory is encrypted (fscrypt) and its key is not loaded";

    /// <summary>The errno value.</summary>
    public int Errno { get; }

    /// <summary>The name the call was about.</summary>
    public string Name { get; }

    /// <summary>What failed, without the name: the errno's text unless a more precise reason was given.</summary>
    public string Reason { get; }

    /// <summary>True when the name did not exist.</summary>
    public bool IsNotFound => Errno == Libc.ENOENT;

    /// <summary>True when an fscrypt key was missing: the name may exist, under an encoded name only the key can tell.</summary>
    public bool IsKeyNotLoaded => Errno == Libc.ENOKEY;

    /// <summary>True for errors that may pass when tried again: I/O errors, busy or stale network files, descriptor exhaustion.</summary>
    public bool IsTransient => Errno is Libc.EIO or Libc.EAGAIN or Libc.EBUSY or Libc.ENFILE or Libc.EMFILE or Libc.ETIMEDOUT or Libc.ESTALE;

    /// <summary>True when the process or the system had no file descriptor left: the server is short, not the file at fault.</summary>
    public bool IsOutOfFileDescriptors => Errno is Libc.EMFILE or Libc.ENFILE;

    /// <summary>True when a symlink stood where a real file or directory was required.</summary>
    public bool IsSymlinkRefused => Errno is Libc.ELOOP or Libc.ENOTDIR;
}
