using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.TarSplit;

/// <summary>Opens the regular file a tar path names under an unpacked layer, one component at a time, never following a symlink.</summary>
/// <remarks>
/// A leading <c>./</c> and <c>.</c> components are dropped (tar-split's own reader cleans paths the same way);
/// an absolute path, <c>..</c>, an empty component (<c>a//b</c>, a trailing <c>/</c>) or a NUL byte is refused
/// outright. Each directory is opened relative to the previous one with <c>O_NOFOLLOW</c>, so a symlink planted
/// anywhere on the way, or in place of the file, is refused instead of leading out of the layer.
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

            var file = Open(directory, tarPath[components[^1]], isDirectory: false, displayPath);
            if (file.Stat().Type != Libc.S_IFREG)
            {
                file.Dispose();
                throw new LayerExportException(displayPath, "not a regular file on disk, but the tar-split record has content for it", new LayerChangedException($"{displayPath}: no longer a regular file"));
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
