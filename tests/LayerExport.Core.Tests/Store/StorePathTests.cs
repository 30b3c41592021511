using LayerExport.Core.Native;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>
/// StorePath is how the stores reach a layer's files: one component at a time, so that no symlink planted in the
/// store can send an export outside it, and without leaving the directories on the way open.
/// </summary>
public sealed class StorePathTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly TempDirectory _outside = new();

    public StorePathTests()
    {
        Directory.CreateDirectory(_root.Combine("overlay/abc/diff"));
        File.WriteAllText(_root.Combine("overlay/abc/diff/inside.txt"), "in the store\n");
    }

    public void Dispose()
    {
        _root.Dispose();
        _outside.Dispose();
    }

    [Fact]
    public void OpensTheLastComponentAndKeepsOnlyItAndTheStartOpen()
    {
        using var start = FileDescriptor.OpenDirectory(_root.Path);

        using (var diff = StorePath.Open(start, "overlay/abc/diff"))
        {
            Assert.Contains(diff.ReadDirectory(), e => e.Name.SequenceEqual("inside.txt"u8.ToArray()));
            // overlay/ and overlay/abc/ were only steps on the way: a store opens many layers, and each step kept
            // open would be a descriptor lost until the export ends.
            Assert.Equal([_root.Path, _root.Combine("overlay/abc/diff")], OpenFileDescriptors.Under(_root.Path));
        }

        // The start is the caller's and stays open.
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Theory]
    [InlineData("overlay")]
    [InlineData("overlay/abc")]
    [InlineData("overlay/abc/diff")]
    public void ASymlinkAnywhereOnThePathIsRefusedAndNothingStaysOpen(string replaced)
    {
        // One directory on the path becomes a symlink to a directory outside the store with the same shape below it.
        Directory.CreateDirectory(_outside.Combine("abc/diff"));
        Directory.Delete(_root.Combine(replaced), recursive: true);
        File.CreateSymbolicLink(_root.Combine(replaced), _outside.Path + replaced["overlay".Length..]);
        using var start = FileDescriptor.OpenDirectory(_root.Path);

        var error = Assert.Throws<LayerRefusedException>(() => StorePath.Open(start, "overlay/abc/diff", LayerId.Parse("app")));

        Assert.StartsWith("Layer 'app': overlay/abc/diff ", error.Message, StringComparison.Ordinal);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
        Assert.Empty(OpenFileDescriptors.Under(_outside.Path));
    }

    [Theory]
    [InlineData("../../../{outside}")]
    [InlineData("..")]
    [InlineData("diff/./..")]
    [InlineData("diff//")]
    [InlineData("diff/")]
    public void APathThatCouldLeaveTheStartIsRefusedBeforeAnythingIsOpened(string form)
    {
        // Each caller checks the names it builds a path from; this holds should one not. The first form reaches a
        // directory outside the store from overlay/abc when nothing refuses it.
        var path = form.Replace("{outside}", Path.GetFileName(_outside.Path), StringComparison.Ordinal);
        using var start = FileDescriptor.OpenDirectory(_root.Combine("overlay/abc"));

        var error = Assert.Throws<LayerRefusedException>(() => StorePath.Open(start, path, LayerId.Parse("app")));

        Assert.Equal($"Layer 'app': {path} is not a path below the store; refused.", error.Message);
        Assert.Equal([_root.Combine("overlay/abc")], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void AFileInPlaceOfADirectoryIsRefused()
    {
        Directory.Delete(_root.Combine("overlay/abc"), recursive: true);
        File.WriteAllText(_root.Combine("overlay/abc"), "not a directory\n");
        using var start = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Throws<LayerRefusedException>(() => StorePath.Open(start, "overlay/abc/diff"));
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void AMissingDirectoryIsACorruptStoreGivingTheSystemsReason()
    {
        using var start = FileDescriptor.OpenDirectory(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => StorePath.Open(start, "overlay/abc/gone", LayerId.Parse("app")));

        // Not a refusal: nothing was planted, the store lacks what it recorded.
        Assert.Equal("Layer 'app': overlay/abc/gone cannot be opened (No such file or directory).", error.Message);
        Assert.Equal(Libc.ENOENT, Assert.IsType<NativeIOException>(error.InnerException).Errno);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void WithoutALayerTheMessageStartsWithThePath()
    {
        // The stores open their fixed directories (overlay2, the layer database) before any layer is asked for.
        using var start = FileDescriptor.OpenDirectory(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => StorePath.Open(start, "overlay2"));

        Assert.StartsWith("overlay2 cannot be opened (", error.Message, StringComparison.Ordinal);
    }
}
