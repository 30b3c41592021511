
namespace LayerExport.Core.Store;

/// <summary>A layer store on local disk; one implementation per on-disk layout.</summary>
public interface ILayerStore
{
    /// <summary>The layout this store reads.</summary>
    LayerStoreLayout Layout { get; }

    /// <summary>Reads a layer ID as this store's users write it (a layout may accept more than one spelling).</summary>
    /// <exception cref="InvalidLayerIdException">The text is not an ID of this store.</exception>
    LayerId ParseId(string? text) => LayerId.Parse(text);

    /// <summary>Every layer with its direct parent, ordered by ID; a broken layer is listed with its problem.</summary>
    IReadOnlyList<LayerSummary> List();

    /// <summary>A layer with its recorded parent chain.</summary>
    LayerDescription Describe(LayerId id);

    /// <summary>Opens a layer's content for export; the handles stay valid however the store changes afterwards.</summary>
    ILayerContent Open(LayerId id);
}
