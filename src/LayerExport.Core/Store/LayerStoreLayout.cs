namespace LayerExport.Core.Store;

/// <summary>How a store lays its layers out on disk.</summary>
public enum LayerStoreLayout
{
    /// <summary><c>&lt;root&gt;/&lt;id&gt;/layer.json</c> and <c>&lt;root&gt;/&lt;id&gt;/diff/</c>.</summary>
    Native,
}
