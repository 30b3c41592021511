using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>The configured layout name picks the store class; an unknown one is a configuration error.</summary>
public sealed class LayerStoreFactoryTests : IDisposable
{
    private readonly TempDirectory _root = new();

    // Every layout a root can be configured with, by the name configuration uses; case does not matter.
    [Theory]
    [InlineData("native", typeof(NativeLayerStore), LayerStoreLayout.Native)]
    [InlineData("overlay2", typeof(Overlay2LayerStore), LayerStoreLayout.Overlay2)]
    [InlineData("Docker", typeof(DockerLayerStore), LayerStoreLayout.Docker)]
    [InlineData("containers-storage", typeof(ContainersStorageLayerStore), LayerStoreLayout.ContainersStorage)]
    [InlineData("SNAPSHOTS", typeof(SnapshotLayerStore), LayerStoreLayout.Snapshots)]
    [InlineData("windows", typeof(WindowsLayerStore), LayerStoreLayout.Windows)]
    public void EachLayoutNameOpensItsStore(string layout, Type type, LayerStoreLayout expected)
    {
        Directory.CreateDirectory(_root.Combine("image/overlay2/layerdb/sha256"));
        Directory.CreateDirectory(_root.Combine("overlay2"));
        Directory.CreateDirectory(_root.Combine("overlay-layers"));

        var store = LayerStoreFactory.Create(new LayerStoreOptions { Root = _root.Path, Layout = layout });
        using var opened = (IDisposable)store;

        Assert.IsType(type, store);
        Assert.Equal(expected, store.Layout);
    }

    [Theory]
    [InlineData("overlay")]
    [InlineData("")]
    [InlineData(null)]
    public void AnUnknownLayoutIsAConfigurationErrorListingTheKnownOnes(string? layout)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => LayerStoreFactory.Create(new LayerStoreOptions { Root = _root.Path, Layout = layout! }));

        Assert.Equal("options", error.ParamName);
        Assert.Equal(layout, error.ActualValue);
        Assert.StartsWith(
            "Unknown layer store layout; use one of native, overlay2, docker, containers-storage, snapshots, windows.",
            error.Message,
            StringComparison.Ordinal);
    }

    public void Dispose() => _root.Dispose();
}
