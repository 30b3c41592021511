namespace LayerExport.Core.Store;

/// <summary>Creates the store class for the configured layout.</summary>
public static class LayerStoreFactory
{
    /// <summary>Opens the store that <paramref name="options"/> describe.</summary>
    public static ILayerStore Create(LayerStoreOptions options) => (LayerStoreLayouts.TryParse(options.Layout, out var layout) ? layout : (LayerStoreLayout)(-1)) switch
    {
        LayerStoreLayout.Native => new NativeLayerStore(options.Root),
        LayerStoreLayout.Overlay2 => new Overlay2LayerStore(options.Root),
        LayerStoreLayout.Docker => new DockerLayerStore(options.Root),
        LayerStoreLayout.ContainersStorage => new ContainersStorageLayerStore(options.Root),
        LayerStoreLayout.Snapshots => new SnapshotLayerStore(options.Root),
        LayerStoreLayout.Windows => new WindowsLayerStore(options.Root),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Layout, $"Unknown layer store layout; use one of {LayerStoreLayouts.Names}."),
    };
}
