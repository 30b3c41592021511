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

    /// <summary>containers/storage (Podman, Buildah, CRI-O): <c>layers.json</c>, tar-split records, overlay or vfs.</summary>
    ContainersStorage,

    /// <summary>One full root file system per layer: <c>&lt;id&gt;/fs/</c> and <c>&lt;id&gt;/layer.json</c>; exports are tree differences.</summary>
    Snapshots,

    /// <summary>Windows container layers: legacy transport directories and base layers, exported as hcsshim does.</summary>
    Windows,
}

/// <summary>The layout names configuration uses.</summary>
public static class LayerStoreLayouts
{
    private static readonly Dictionary<string, LayerStoreLayout> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["native"] = LayerStoreLayout.Native,
        ["overlay2"] = LayerStoreLayout.Overlay2,
        ["docker"] = LayerStoreLayout.Docker,
        ["containers-storage"] = LayerStoreLayout.ContainersStorage,
        ["snapshots"] = LayerStoreLayout.Snapshots,
        ["windows"] = LayerStoreLayout.Windows,
    };

    /// <summary>Every accepted name, for messages.</summary>
    public static string Names => string.Join(", ", ByName.Keys);

    /// <summary>The layout a configured name stands for.</summary>
    public static bool TryParse(string? name, out LayerStoreLayout layout) => ByName.TryGetValue(name ?? "", out layout);
}
