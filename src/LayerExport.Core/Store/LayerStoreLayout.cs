namespace LayerExport.Core.Store;

/// <summary>How a store lays its layers out on disk.</summary>
public enum LayerStoreLayout
{
    /// <summary><c>&lt;root&gt;/&lt;id&gt;/layer.json</c> and <c>&lt;root&gt;/&lt;id&gt;/diff/</c>.</summary>
    Native,

    /// <summary>Docker's overlay2 graph-driver directory: <c>&lt;id&gt;/diff</c>, <c>link</c>, <c>lower</c>.</summary>
    Overlay2,

    /// <summary>Docker's data-root: the layer database with tar-split records, and overlay2 directories.</summary>
    Docker,
}
