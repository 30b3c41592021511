using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.TarSplit;

/// <summary>Opens the regular file a tar path names under an unpacked layer, never reaching outside the layer.</summary>
/// <remarks>
/// The path is cleaned as Go's <c>filepath.Join(root, name)</c> cleans it, which is what tar-split and the stores
/// that keep records read through: a leading <c>/</c>, empty and <c>.</c> components are dropped and <c>..</c>
/// takes the previous component away; a <c>..</c> above the root, a NUL byte or a path that names the root is
/// refused. The directories on the way are resolved with the layer root as <c>/</c> (<c>openat2</c> with
/// <c>RESOLVE_IN_ROOT</c>, on the root's mount only), so a directory the tar itself made a symlink (<c>bin</c> to
/// <c>usr/bin</c>) leads where extraction put the files, and no symlink, absolute or with <c>..</c>, leads out of
/// the layer. Where <c>openat2</c> is missing, each directory is opened relative to the previous one with
/// <c>O_NOFOLLOW</c> and a symlink on the way is refused. The file itself is opened only after its status (taken
/// without following it) says it is a regular file on the layer root's mount, and the opened descriptor must be
/// that very file.
/// </remarks>
internal static class LayerFileResolver
{
    /// <summary>Opens the regular file <paramref name="name"/> in <paramref name="directory"/> (the root or one <see cref="OpenParent"/> gave), with its status.</summary>
    /// <param name="rootStatus">The layer root's status: its mount is the only one a file may be on.</param>
    /// <param name="directory">The directory that holds the file.</param>
    /// <param name="name">The file's name in it.</param>
    /// <param name="displayPath">The tar path, for messages.</param>
    public static (FileDescriptor File, FileStatus Status) OpenIn(FileStatus rootStatus, FileDescriptor directory, ReadOnlySpan<byte> name, string displayPath)
    {
        var expected = StatRegularFile(rootStatus, directory, name, displayPath);
        var file = Open(directory, name, isDirectory: false, displayPath);
        try
        {
            var status = file.Stat();
            return status.IsSameFile(expected)
                ? (file, status)
                : throw new LayerExportException(displayPath, "was replaced on disk while being opened", new LayerChangedException($"{displayPath}: replaced while being opened"));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The status of the regular file a cleaned path names, found as <see cref="OpenParent"/> and <see cref="OpenIn"/> find it, without opening it.</summary>
    public static FileStatus Stat(FileDescriptor root, List<byte[]> components, string displayPath)
    {
        var directory = OpenParent(root, components, displayPath);
        try
        {
            return StatRegularFile(root.Stat(), directory, components[^1], displayPath);
        }
        finally
        {
            if (directory != root)
            {
                directory.Dispose();
            }
        }
    }

    /// <summary>The path's components once cleaned; throws when it leads above the root, names it or holds a NUL byte.</summary>
    public static List<byte[]> Clean(ReadOnlySpan<byte> tarPath, string displayPath)
    {
        if (tarPath.Contains((byte)0))
        {
            throw Unsafe(displayPath, "it contains a NUL byte");
        }

        var components = new List<byte[]>();
        foreach (var range in tarPath.Split((byte)'/'))
        {
            var component = tarPath[range];
            if (component.IsEmpty || component.SequenceEqual("."u8))
            {
                continue;
            }

            if (!component.SequenceEqual(".."u8))
            {
                components.Add(component.ToArray());
            }
            else if (components.Count > 0)
            {
                components.RemoveAt(components.Count - 1);
            }
            else
            {
                throw Unsafe(displayPath, "its '..' leads above the layer root");
            }
        }

        return components.Count > 0 ? components : throw Unsafe(displayPath, "it names the layer root");
    }

    /// <summary>The directory that holds the file a cleaned path names: the root itself, or the path's directories resolved inside the root (then the caller's to dispose).</summary>
    public static FileDescriptor OpenParent(FileDescriptor root, List<byte[]> components, string displayPath)
    {
        if (components.Count == 1)
        {
            return root;
        }

        var parents = components.Take(components.Count - 1).ToList();
        try
        {
            if (root.TryOpenDirectoryInRoot(Join(parents)) is { } inRoot)
            {
                return inRoot;
            }
        }
        catch (NativeIOException e) when (e.Errno == Libc.EXDEV)
        {
            throw MountPoint(displayPath);
        }
        catch (NativeIOException e)
        {
            throw new LayerExportException(displayPath, $"cannot open its directory in the unpacked layer ({e.Reason})", e);
        }

        var directory = root;
        try
        {
            foreach (var component in parents)
            {
                var next = Open(directory, component, isDirectory: true, displayPath);
                if (directory != root)
                {
                    directory.Dispose();
                }

                directory = next;
            }

            return directory;
        }
        catch
        {
            if (directory != root)
            {
                directory.Dispose();
            }

            throw;
        }
    }

    private static byte[] Join(List<byte[]> components) => [.. components.SelectMany(static (c, i) => i == 0 ? c : [(byte)'/', .. c])];

    // Opening a device runs its driver and a FIFO's open can block or wake a writer: the name's type is checked first.
    // The file's mount must be the layer root's, so no bind mount on the way or on the file itself is crossed.
    private static FileStatus StatRegularFile(FileStatus layer, FileDescriptor directory, ReadOnlySpan<byte> name, string displayPath)
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

        if (status.IsMountRoot || status.Device != layer.Device || status.MountId != layer.MountId)
        {
            throw MountPoint(displayPath);
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

    private static LayerExportException MountPoint(string displayPath) =>
        new(displayPath, "it is on a mount point inside the layer (another file system or a bind mount), which is not part of the layer; refused", new InvalidDataException($"{displayPath}: mount point"));

    private static LayerExportException Unsafe(string displayPath, string why) =>
        new(displayPath, $"the tar-split record names a path that may not be followed: {why}");
}
