using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A bind mount from the same file system inside a layer is refused like any mount point, though st_dev cannot tell it.</summary>
public sealed class BindMountExportTests : IAsyncLifetime, IDisposable
{
    private readonly TestLayerStore _store = new();
    private readonly TempDirectory _outside = new();
    private readonly string _secret = "SECRET-" + Guid.NewGuid().ToString("N");
    private readonly List<string> _mounts = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_outside.Combine("dir"));
        await File.WriteAllTextAsync(_outside.Combine("dir/secret.txt"), _secret);
        await File.WriteAllTextAsync(_outside.Combine("file"), _secret);

        var directoryLayer = _store.AddLayer("bound-directory").File("before.txt", "in the layer").Directory("mnt");
        var fileLayer = _store.AddLayer("bound-file").File("before.txt", "in the layer").File("secretfile", "");
        await BindAsync(_outside.Combine("dir"), directoryLayer.PathOf("mnt"));
        await BindAsync(_outside.Combine("file"), fileLayer.PathOf("secretfile"));

        // The point of these tests: the same device on both sides of the mount.
        Assert.Equal(Posix.Stat(_store.Root).Device, Posix.Stat(_outside.Path).Device);
    }

    public async Task DisposeAsync()
    {
        foreach (var target in Enumerable.Reverse(_mounts))
        {
            await ExternalTool.RunCheckedAsync("umount", target);
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _outside.Dispose();
    }

    [Theory]
    [InlineData("bound-directory", "mnt")]
    [InlineData("bound-file", "secretfile")]
    public async Task TheExportFailsAtTheBindMount(string layer, string mountPoint)
    {
        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync(layer));

        Assert.Equal(mountPoint, failure.Path);
        Assert.Contains("mount point", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bound-directory", "mnt")]
    [InlineData("bound-file", "secretfile")]
    public void TheSizeMeasurementFailsAtTheBindMountToo(string layer, string mountPoint)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare(layer, []);

        var failure = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));

        Assert.Equal(mountPoint, failure.Path);
    }

    private async Task BindAsync(string source, string target)
    {
        await ExternalTool.RunCheckedAsync("mount", "--bind", source, target);
        _mounts.Add(target);
    }
}
