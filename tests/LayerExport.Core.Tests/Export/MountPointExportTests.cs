using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A file system mounted inside a layer is not part of it: the export and the size measurement refuse to enter it.</summary>
public sealed class MountPointExportTests : IAsyncLifetime, IDisposable
{
    private readonly TestLayerStore _store = new();
    private readonly string _secret = "SECRET-" + Guid.NewGuid().ToString("N");
    private string _mountPoint = "";

    public async Task InitializeAsync()
    {
        var tree = _store.AddLayer("mounted").File("before.txt", "in the layer").Directory("mnt");
        _mountPoint = tree.PathOf("mnt");
        await ExternalTool.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=1m", "layer-export-test", _mountPoint);
        await File.WriteAllTextAsync(Path.Combine(_mountPoint, "secret.txt"), _secret);
    }

    public async Task DisposeAsync()
    {
        await ExternalTool.RunCheckedAsync("umount", _mountPoint);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task TheExportFailsAtTheMountPointWithoutReadingIt()
    {
        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("mounted"));

        Assert.Equal("mnt", failure.Path);
        Assert.Contains("mount point", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSizeMeasurementFailsAtTheMountPointToo()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("mounted", []);

        var failure = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));

        Assert.Equal("mnt", failure.Path);
    }
}
