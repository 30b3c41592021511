using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A walk that fails while it enters a directory closes that directory: a failed export leaves nothing of the layer open.</summary>
[Collection(SerialTests.Name)]
public sealed class FailedWalkDescriptorTests : IDisposable
{
    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task AWhiteoutThatFailsItsDirectoryLeavesTheDirectoryClosed()
    {
        // The directory is opened to be listed; the listing then refuses ".wh..", before the walk has taken the
        // directory into its frames, so only the failing step itself can close it.
        _store.AddLayer("layer").Directory("sub").File("sub/.wh..", "");

        await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("layer"));

        Assert.Empty(OpenFileDescriptors.Under(_store.Root));
    }
}
