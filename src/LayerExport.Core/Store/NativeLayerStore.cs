using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>The <c>native</c> layout: <c>&lt;root&gt;/&lt;id&gt;/layer.json</c> names the parent, <c>&lt;root&gt;/&lt;id&gt;/diff/</c> holds the changes.</summary>
public sealed class NativeLayerStore(string root) : DirectoryLayerStore(root)
{
    /// <inheritdoc />
    public override LayerStoreLayout Layout => LayerStoreLayout.Native;

    /// <inheritdoc />
    protected override string LayoutName => "native";

    // A directory without layer.json is not a layer; a layer.json that cannot be trusted is an error.
    private protected override LayerRecord? ReadLayer(LayerId id, FileDescriptor layerDirectory) =>
        ReadMetadataFile(id, layerDirectory, "layer.json") is { } json ? new LayerRecord(LayerJson.ReadParent(id, json)) : null;
}
