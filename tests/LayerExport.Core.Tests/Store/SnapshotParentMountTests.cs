using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>A mount in the parent's tree, which a snapshot layer is compared with, fails the export as one in the layer does: nothing under it is listed or read.</summary>
public sealed class SnapshotParentMountTests : IAsyncLifetime, IDisposable
{
    private readonly TestSnapshotStore _store = new();
    private readonly TempDirectory _outside = new();
    private string? _mounted;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_outside.Combine("not-the-parents"), "secret");
        _store.AddLayer("base").Directory("etc").File("etc/hostname", "base\n");
        await _store.CopyLayerAsync("base", "child");
        _mounted = Path.Combine(_store.Root, "base", "fs", "etc");
        await ExternalTool.RunCheckedAsync("mount", "--bind", _outside.Path, _mounted);
    }

    public async Task DisposeAsync()
    {
        if (_mounted is not null)
        {
            await ExternalTool.RunCheckedAsync("umount", _mounted);
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _outside.Dispose();
    }

    // Walked, the bind mount's names would come out as whiteouts of the child's (etc/.wh.not-the-parents).
    [Fact]
    public async Task TheChildsExportFailsAtItsParentsMountPoint()
    {
        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("child"));

        Assert.Equal("etc", failure.Path);
        Assert.Contains("it is a mount point", failure.Message, StringComparison.Ordinal);
    }
}
