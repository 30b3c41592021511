using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tests.Support;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>
/// The file a record names is found under the layer root, with openat2 and, as on kernels without it, one directory
/// at a time; every directory opened on the way is closed again, whether the file is found or not.
/// </summary>
public sealed class LayerFileResolverTests : IDisposable
{
    private static readonly byte[] Content = Encoding.ASCII.GetBytes("inside\n");

    private readonly TempDirectory _directory = new("layerexport-resolver-");

    public LayerFileResolverTests()
    {
        Directory.CreateDirectory(_directory.Combine("layer/a/b"));
        File.WriteAllBytes(_directory.Combine("layer/a/b/f"), Content);
        File.WriteAllBytes(_directory.Combine("layer/a/x"), Content);
    }

    private string Root => _directory.Combine("layer");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void ANestedFileIsFoundThroughItsDirectoriesWhichAreClosedAgain()
    {
        using var root = FileDescriptor.OpenDirectory(Root);

        using (var file = OpenRegularFile(root, "a/b/f"u8, "a/b/f"))
        {
            Assert.Equal(Content, Read(file));
            Assert.Equal([Root, Root + "/a/b/f"], OpenFileDescriptors.Under(Root));
        }

        Assert.Equal([Root], OpenFileDescriptors.Under(Root));
    }

    [Fact]
    public void WithoutOpenat2ANestedFileIsFoundOneDirectoryAtATime()
    {
        using var root = FileDescriptor.OpenDirectory(Root);

        var (file, error) = OpenWithoutOpenat2(root, "a/b/f");

        Assert.Null(error);
        using (file)
        {
            Assert.Equal(Content, Read(file!));
            Assert.Equal([Root, Root + "/a/b/f"], OpenFileDescriptors.Under(Root));
        }

        Assert.Equal([Root], OpenFileDescriptors.Under(Root));
    }

    [Fact]
    public void WithoutOpenat2ASymlinkedDirectoryIsRefusedEvenWhenItLeadsInsideTheLayer()
    {
        // Without RESOLVE_IN_ROOT nothing keeps a symlink's target inside the layer, so none is followed.
        File.CreateSymbolicLink(_directory.Combine("layer/bin"), "a/b");
        using var root = FileDescriptor.OpenDirectory(Root);

        var (_, error) = OpenWithoutOpenat2(root, "bin/f");

        Assert.NotNull(error);
        Assert.Equal("bin/f", error.Path);
        Assert.Equal("'bin' is a symlink or not a directory on disk; refused", error.Reason);
        Assert.Equal(Libc.ENOTDIR, Assert.IsType<NativeIOException>(error.InnerException).Errno);
    }

    [Fact]
    public void WithoutOpenat2AFileInPlaceOfADirectoryIsRefusedAndTheDirectoriesOpenedAreClosed()
    {
        using var root = FileDescriptor.OpenDirectory(Root);

        var (_, error) = OpenWithoutOpenat2(root, "a/x/f");

        Assert.NotNull(error);
        Assert.Equal("a/x/f", error.Path);
        Assert.Equal("'x' is a symlink or not a directory on disk; refused", error.Reason);
        Assert.Equal([Root], OpenFileDescriptors.Under(Root));
    }

    [Fact]
    public void WithoutOpenat2AMissingDirectoryIsNamed()
    {
        using var root = FileDescriptor.OpenDirectory(Root);

        var (_, error) = OpenWithoutOpenat2(root, "a/missing/f");

        Assert.NotNull(error);
        Assert.Equal("a/missing/f", error.Path);
        Assert.StartsWith("cannot open 'missing' in the unpacked layer (", error.Reason, StringComparison.Ordinal);
        Assert.Equal([Root], OpenFileDescriptors.Under(Root));
    }

    [Fact]
    public async Task WithoutOpenat2ABindMountOnTheWayIsRefusedAtTheFile()
    {
        // Same file system and same bytes: only the mount ID of the file tells that the bind mount was crossed.
        var copy = _directory.Combine("copy");
        await Shell.RunAsync("cp -a \"$1\" \"$2\" && mount --bind \"$2\" \"$1\"", _directory.Path, Root + "/a", copy);
        try
        {
            using var root = FileDescriptor.OpenDirectory(Root);

            var (_, error) = OpenWithoutOpenat2(root, "a/b/f");

            Assert.NotNull(error);
            Assert.Equal("a/b/f", error.Path);
            Assert.Contains("mount point inside the layer", error.Reason, StringComparison.Ordinal);
            Assert.Equal("a/b/f: mount point", Assert.IsType<InvalidDataException>(error.InnerException).Message);
        }
        finally
        {
            await Shell.RunAsync("umount \"$1\"", _directory.Path, Root + "/a");
        }
    }

    [Fact]
    public void ADirectoryInPlaceOfTheFileIsNoRegularFileAndCountsAsAChange()
    {
        using var root = FileDescriptor.OpenDirectory(Root);

        var error = Assert.Throws<LayerExportException>(() => OpenRegularFile(root, "a/b"u8, "./a/b"));

        Assert.Equal("./a/b", error.Path);
        Assert.Equal("not a regular file on disk, but the tar-split record has content for it", error.Reason);
        Assert.Equal("./a/b: no longer a regular file", Assert.IsType<LayerChangedException>(error.InnerException).Message);
        Assert.Equal([Root], OpenFileDescriptors.Under(Root));
    }

    // The name's status is taken before it is opened; whatever is renamed over it in between must not be read.
    [Theory]
    [InlineData("a hard link to a file outside the layer")]
    [InlineData("a FIFO")]
    public void AFileReplacedBetweenItsStatusAndItsOpenIsRefused(string replacement)
    {
        var swap = Root + "/a/swap";
        if (replacement == "a FIFO")
        {
            Posix.MakeFifo(swap);
        }
        else
        {
            File.WriteAllText(_directory.Combine("secret"), "outside the layer\n");
            Posix.HardLink(_directory.Combine("secret"), swap);
        }

        using var root = FileDescriptor.OpenDirectory(Root);
        var opened = new List<string>();

        var error = Record.Exception(() => SyscallRace.AtOpen(
            () => OpenRegularFile(root, "a/x"u8, "./a/x"),
            name =>
            {
                opened.Add(name);
                if (name == "x")
                {
                    File.Move(swap, Root + "/a/x", overwrite: true);
                }
            }));

        Assert.Single(opened, static name => name == "x");
        var refused = Assert.IsType<LayerExportException>(error);
        Assert.Equal("./a/x", refused.Path);
        Assert.Equal("was replaced on disk while being opened", refused.Reason);
        Assert.Equal("./a/x: replaced while being opened", Assert.IsType<LayerChangedException>(refused.InnerException).Message);
        Assert.Equal([Root], OpenFileDescriptors.Under(Root));
    }

    // A file found as RecordedFiles finds it, its directory closed at once.
    private static FileDescriptor OpenRegularFile(FileDescriptor root, ReadOnlySpan<byte> tarPath, string displayPath)
    {
        var components = LayerFileResolver.Clean(tarPath, displayPath);
        var directory = LayerFileResolver.OpenParent(root, components, displayPath);
        try
        {
            return LayerFileResolver.OpenIn(root.Stat(), directory, components[^1], displayPath).File;
        }
        finally
        {
            if (directory != root)
            {
                directory.Dispose();
            }
        }
    }

    private static byte[] Read(FileDescriptor file)
    {
        var buffer = new byte[64];
        return buffer[..file.ReadAt(buffer, 0)];
    }

    // The resolution runs on a thread of its own, the only one whose openat2 calls fail.
    private static (FileDescriptor? File, LayerExportException? Error) OpenWithoutOpenat2(FileDescriptor root, string path) =>
        OwnThread.Run<(FileDescriptor?, LayerExportException?)>(() =>
        {
            Posix.RefuseOpenat2OnThisThread();
            try
            {
                return (OpenRegularFile(root, Encoding.UTF8.GetBytes(path), path), null);
            }
            catch (LayerExportException e)
            {
                return (null, e);
            }
        });
}
