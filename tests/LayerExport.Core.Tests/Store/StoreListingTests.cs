using LayerExport.Core.Native;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>How the directory a store lists its layers from tells that it was deleted under an open descriptor.</summary>
public sealed class StoreListingTests : IDisposable
{
    private readonly TempDirectory _parent = new();

    // A live directory on a kernel file system has at least one link, so its link count can tell its deletion.
    [Fact]
    public void ALiveDirectoryCountsLinks()
    {
        using var directory = FileDescriptor.OpenDirectory(Store());

        Assert.True(StoreListing.CountsLinks(directory));
        StoreListing.ThrowIfDeleted(directory, "the root directory", countsLinks: true);
    }

    // Once deleted, the open directory has no links: a name missing from it says nothing about the layer.
    [Fact]
    public void ADeletedDirectoryIsTheWholeStoresUnavailability()
    {
        var path = Store();
        using var directory = FileDescriptor.OpenDirectory(path);
        Directory.Delete(path);

        var error = Assert.Throws<LayerStoreUnavailableException>(() => StoreListing.ThrowIfDeleted(directory, "the root directory", countsLinks: true));

        Assert.False(StoreListing.CountsLinks(directory));
        Assert.Equal("The layer store cannot be read: the root directory was deleted; restart the server once the store is back.", error.Message);
    }

    // A file system that reported no links while the directory lived (a FUSE daemon may) cannot tell a deletion.
    [Fact]
    public void WithoutCountedLinksADeletedDirectoryIsNotTold()
    {
        var path = Store();
        using var directory = FileDescriptor.OpenDirectory(path);
        Directory.Delete(path);

        StoreListing.ThrowIfDeleted(directory, "the root directory", countsLinks: false);
    }

    // Listing a deleted directory fails with ENOENT until a restart; the message says what to do, not the errno.
    [Fact]
    public void ListingADeletedDirectorySaysToRestart()
    {
        var path = Store();
        using var directory = FileDescriptor.OpenDirectory(path);
        Directory.Delete(path);

        var error = Assert.Throws<LayerStoreUnavailableException>(() => StoreListing.Read(directory, "image/overlay2/layerdb/sha256"));

        Assert.Equal("The layer store cannot be listed: image/overlay2/layerdb/sha256 was deleted; restart the server once the store is back.", error.Message);
    }

    // Any other failure is not a deletion: the message names the error instead of asking for a restart. (A
    // descriptor of a regular file stands in for a directory that cannot be listed; tests run as root, so a
    // permission error cannot be provoked.)
    [Fact]
    public void AListingThatFailsOtherwiseNamesTheError()
    {
        File.WriteAllText(_parent.Combine("file"), "");
        using var parent = FileDescriptor.OpenDirectory(_parent.Path);
        using var file = parent.OpenFileAt("file"u8);

        var error = Assert.Throws<LayerStoreUnavailableException>(() => StoreListing.Read(file, "the root directory"));

        Assert.Equal("The layer store cannot be listed: the root directory (Not a directory).", error.Message);
    }

    public void Dispose() => _parent.Dispose();

    private string Store()
    {
        var path = _parent.Combine("store");
        Directory.CreateDirectory(path);
        return path;
    }
}
