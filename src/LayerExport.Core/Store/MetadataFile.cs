using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>Reads the small metadata files stores keep per layer (layer.json, link, parent, cache-id, diff).</summary>
internal static class MetadataFile
{
    private const int MaxBytes = 64 * 1024;

    /// <summary>The file's bytes; null when it does not exist; a symlink is refused; an oversized, special or unopenable file is inconsistent.</summary>
    public static byte[]? Read(LayerId id, FileDescriptor directory, string name, int maxBytes = MaxBytes)
    {
        using var file = Open(id, directory, name, out var status, maxBytes);
        return file is null ? null : ReadAll(id, file, status, name, maxBytes);
    }

    /// <summary>Opens the file, <paramref name="status"/> its status; null when it does not exist; a symlink is refused; a special file (never opened) or one that cannot be opened is inconsistent.</summary>
    public static FileDescriptor? Open(LayerId id, FileDescriptor directory, string name, out FileStatus status, int maxBytes = MaxBytes)
    {
        status = default;
        try
        {
            return directory.OpenRegularFileAt(Encoding.UTF8.GetBytes(name), out status) ?? throw (status.Type == Libc.S_IFLNK
                ? Symlink(id, name)
                : new LayerStoreCorruptException($"Layer '{id}': {name} is not a regular file of at most {maxBytes} bytes."));
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return null;
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw Symlink(id, name);
        }
        catch (NativeIOException e) when (!e.IsTransient)
        {
            // A socket, a file without read permission: this layer's verdict, not a failure of the whole request.
            throw new LayerStoreCorruptException($"Layer '{id}': {name} cannot be opened ({e.Reason}).", e);
        }
    }

    /// <summary>The bytes of <paramref name="file"/>, opened by <see cref="Open"/> and of status <paramref name="status"/>; a special or oversized file is inconsistent.</summary>
    public static byte[] ReadAll(LayerId id, FileDescriptor file, in FileStatus status, string name, int maxBytes = MaxBytes)
    {
        if (status.Type != Libc.S_IFREG || status.Size > maxBytes)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': {name} is not a regular file of at most {maxBytes} bytes.");
        }

        var buffer = new byte[status.Size];
        var length = 0;
        for (int n; length < buffer.Length && (n = file.ReadAt(buffer.AsSpan(length), length)) > 0;)
        {
            length += n;
        }

        return length == buffer.Length ? buffer : buffer[..length];
    }

    private static LayerRefusedException Symlink(LayerId id, string name) => new($"Layer '{id}': {name} is a symbolic link; refused.");

    /// <summary>The file's text with surrounding white space removed; null when it does not exist.</summary>
    public static string? ReadText(LayerId id, FileDescriptor directory, string name) =>
        Read(id, directory, name) is { } bytes ? Encoding.UTF8.GetString(bytes).Trim() : null;
}
