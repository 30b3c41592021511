using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.TarSplit;

/// <summary>Opens the regular file a tar path names under an unpacked layer, one component at a time, never following a symlink.</summary>
/// <remarks>
/// A leading <c>./</c> and <c>.</c> components are dropped (tar-split's own reader cleans paths the same way);
/// an absolute path, <c>..</c>, an empty component (<c>a//b</c>, a trailing <c>/</c>) or a NUL byte is refused
/// outright. Each directory is opened relative to the previous one with <c>O_NOFOLLOW</c>, so a symlink planted
/// anywhere on the way, or in place of the file, is refused instead of leading out of the layer. The file itself
/// is opened only after its status (taken without following it) says it is a regular file on the layer root's
/// mount, and the opened descriptor must be that very file.
/// </remarks>
internal static class LayerFileResolver
{
    public static FileDescriptor OpenRegularFile(FileDescriptor root, ReadOnlySpan<byte> tarPath, string displayPath)
    {
        var components = Split(tarPath, displayPath);
        var directory = root;
        try
        {
            for (var i = 0; i < components.Count - 1; i++)
            {
                var next = Open(directory, tarPath[components[i]], isDirectory: true, displayPath);
                if (directory != root)
                {
                    directory.Dispose();
                }

                directory = next;
            }

            var name = tarPath[components[^1]];
            var expected = StatRegularFile(root, directory, name, displayPath);
            var file = Open(directory, name, isDirectory: false, displayPath);
            if (!file.Stat().IsSameFile(expected))
            {
                file.Dispose();
                throw new LayerExportException(displayPath, "was replaced on disk while being opened", new LayerChangedException($"{displayPath}: replaced while being opened"));
            }

            return file;
        }
        finally
        {
            if (directory != root)
            {
                directory.Dispose();
            }
        }
    }

    private static List<Range> Split(ReadOnlySpan<byte> tarPath, string displayPath)
    {
        if (tarPath.IsEmpty || tarPath[0] == (byte)'/' || tarPath.Contains((byte)0))
        {
            throw Unsafe(displayPath, "it is empty, absolute or contains a NUL byte");
        }

        var components = new List<Range>();
        foreach (var range in tarPath.Split((byte)'/'))
        {
            var component = tarPath[range];
            if (component.IsEmpty)
            {
                throw Unsafe(displayPath, "it has an empty component");
            }

            if (component.SequenceEqual(".."u8))
            {
                throw Unsafe(displayPath, "it has a '..' component");
            }

            if (!component.SequenceEqual("."u8))
            {
                components.Add(range);
            }
        }

        return components.Count > 0 ? components : throw Unsafe(displayPath, "it names the layer root");
    }

    // Opening a device runs its driver and a FIFO's open can block or wake a writer: the name's type is checked first.
    // The file's mount must be the layer root's, so no bind mount on the way or on the file itself is crossed.
    private static FileStatus StatRegularFile(FileDescriptor root, FileDescriptor directory, ReadOnlySpan<byte> name, string displayPath)
    {
        FileStatus status;
        try
        {
            status = directory.StatAt(name);
        }
        catch (NativeIOException e)
        {
            throw new LayerExportException(displayPath, $"cannot open '{Encoding.UTF8.GetString(name)}' in the unpacked layer ({e.Message})", e);
        }

        if (status.Type == Libc.S_IFLNK)
        {
            throw new LayerExportException(displayPath, $"'{Encoding.UTF8.GetString(name)}' is a symlink on disk; refused", new NativeIOException(Libc.ELOOP, displayPath));
        }

        if (status.Type != Libc.S_IFREG)
        {
            throw new LayerExportException(displayPath, "not a regular file on disk, but the tar-split record has content for it", new LayerChangedException($"{displayPath}: no longer a regular file"));
        }

        var layer = root.Stat();
        if (status.IsMountRoot || status.Device != layer.Device || status.MountId != layer.MountId)
        {
            throw new LayerExportException(displayPath, "it is on a mount point inside the layer (another file system or a bind mount), which is not part of the layer; refused", new InvalidDataException($"{displayPath}: mount point"));
        }

        return status;
    }

    private static FileDescriptor Open(FileDescriptor directory, ReadOnlySpan<byte> name, bool isDirectory, string displayPath)
    {
        try
        {
            return isDirectory ? directory.OpenDirectoryAt(name) : directory.OpenFileAt(name);
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            var what = isDirectory ? "is a symlink or not a directory" : "is a symlink";
            throw new LayerExportException(displayPath, $"'{Encoding.UTF8.GetString(name)}' {what} on disk; refused", e);
        }
        catch (NativeIOException e)
        {
            throw new LayerExportException(displayPath, $"cannot open '{Encoding.UTF8.GetString(name)}' in the unpacked layer ({e.Message})", e);
        }
    }

    private static LayerExportException Unsafe(string displayPath, string why) =>
        new(displayPath, $"the tar-split record names a path that may not be followed: {why}");
}
