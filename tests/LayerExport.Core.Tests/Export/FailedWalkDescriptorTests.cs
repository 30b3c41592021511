using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A walk that fails while it enters a directory closes that directory: a failed export leaves nothing of the layer open.</summary>
[Collection(SerialTests.Name)]
public sealed class FailedWalkDescriptorTests : IDisposable
{
    private readonly TestLayerStore _store = new();
    private readonly TestSnapshotStore _snapshots = new();

    public void Dispose()
    {
        _store.Dispose();
        _snapshots.Dispose();
    }

    [Fact]
    public async Task AWhiteoutThatFailsItsDirectoryLeavesTheDirectoryClosed()
    {
        // The directory is opened to be listed; the listing then refuses ".wh..", before the walk has taken the
        // directory into its frames, so only the failing step itself can close it.
        _store.AddLayer("layer").Directory("sub").File("sub/.wh..", "");

        await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("layer"));

        Assert.Empty(OpenFileDescriptors.Under(_store.Root));
    }

    [Fact]
    public async Task ADeletionThatFailsADirectoryBothTreesHoldLeavesBothCopiesClosed()
    {
        // Both copies of "dir" are opened to be listed together; the parent's ".wh.x" is gone from the child, and
        // that deletion cannot travel in a layer, so the pair is refused before the walk has taken it into its frames.
        _snapshots.AddLayer("base").Directory("dir").File("dir/.wh.x", "a name only a full tree can hold");
        File.Delete((await _snapshots.CopyLayerAsync("base", "child")).PathOf("dir/.wh.x"));

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _snapshots.ExportAsync("child"));

        Assert.Equal("dir", failure.Path);
        Assert.Empty(OpenFileDescriptors.Under(_snapshots.Root));
    }
}
