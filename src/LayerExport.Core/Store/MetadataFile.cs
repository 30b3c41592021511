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
        using var file = Open(id, directory, name);
        return file is null ? null : ReadAll(id, file, file.Stat(), name, maxBytes);
    }

    /// <summary>Opens the file; null when it does not exist; a symlink is refused; a file that cannot be opened is inconsistent.</summary>
    public static FileDescriptor? Open(LayerId id, FileDescriptor directory, string name)
    {
        try
        {
            return directory.OpenFileAt(Encoding.UTF8.GetBytes(name));
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return null;
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw new LayerRefusedException($"Layer '{id}': {name} is a symbolic link; refused.");
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

    /// <summary>The file's text with surrounding white space removed; null when it does not exist.</summary>
    public static string? ReadText(LayerId id, FileDescriptor directory, string name) =>
        Read(id, directory, name) is { } bytes ? Encoding.UTF8.GetString(bytes).Trim() : null;
}
