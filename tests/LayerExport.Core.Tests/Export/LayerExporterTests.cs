using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>The caller's parent chain, nearest first, must be the start of the recorded one; the layer is opened only then.</summary>
[Collection(SerialTests.Name)]
public sealed class LayerExporterTests : IDisposable
{
    private readonly TestSnapshotStore _store = new();

    public LayerExporterTests()
    {
        _store.AddLayer("base");
        _store.AddLayer("mid", "base");
        _store.AddLayer("top", "mid").File("file", "top");
    }

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData("mid")]
    [InlineData("mid,base")]
    public void AStartOfTheRecordedChainIsAccepted(string chain)
    {
        var parents = Split(chain);
        using var store = new SnapshotLayerStore(_store.Root);

        using var export = new LayerExporter(store).Prepare("top", parents);

        Assert.Equal("top", export.Layer.Id);
        Assert.Equal(["mid", "base"], export.Layer.Chain);
    }

    [Theory]
    [InlineData("base")]
    [InlineData("base,mid")]
    [InlineData("mid,top")]
    [InlineData("mid,base,base")]
    public void AnyOtherChainIsRefusedBeforeTheLayerIsOpened(string chain)
    {
        var parents = Split(chain);
        using var store = new SnapshotLayerStore(_store.Root);

        var error = Assert.Throws<ParentChainMismatchException>(() => new LayerExporter(store).Prepare("top", parents));

        Assert.Equal(["mid", "base"], error.RecordedChain);
        Assert.Equal(
            $"Layer 'top' has the recorded parent chain [mid, base] (nearest first); the request named [{string.Join(", ", parents)}], which is not its start.",
            error.Message);
        Assert.Equal([_store.Root], OpenFileDescriptors.Under(_store.Root));
    }

    [Fact]
    public void APreparedExportHoldsTheLayerOpenUntilDisposed()
    {
        using var store = new SnapshotLayerStore(_store.Root);

        using (new LayerExporter(store).Prepare("top", []))
        {
            Assert.Contains(Path.Combine(_store.Root, "top", "fs"), OpenFileDescriptors.Under(_store.Root));
        }

        Assert.Equal([_store.Root], OpenFileDescriptors.Under(_store.Root));
    }

    private static string[] Split(string chain) => chain.Split(',', StringSplitOptions.RemoveEmptyEntries);
}
