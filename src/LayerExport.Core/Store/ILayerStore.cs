using System.Text.Json.Serialization;
using LayerExport.Core.Reader;

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

/// <summary>An opened layer, ready to be read.</summary>
public interface ILayerContent : IDisposable
{
    /// <summary>A fresh reader over the layer's entries, with each regular file opened for its content.</summary>
    ILayerEntryReader CreateReader();

    /// <summary>A fresh reader that describes every entry without opening any file: for sizes and fingerprints.</summary>
    ILayerEntryReader CreateMetadataReader();

    /// <summary>The original tar's record, when the store kept one; the export then reproduces those exact bytes.</summary>
    RecordedTar? Recorded => null;
}

/// <summary>A layer and its direct parent.</summary>
/// <param name="Id">The layer ID.</param>
/// <param name="Parent">The direct parent's ID, or null for a base layer.</param>
/// <param name="Problem">What is wrong with the layer's own metadata (refused or inconsistent), or null; a fault of its parent chain or of its files shows only when the layer is asked for.</param>
public sealed record LayerSummary(
    string Id,
    string? Parent,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Problem = null);

/// <summary>A layer, its recorded chain of parents and the store layout.</summary>
/// <param name="Id">The layer ID.</param>
/// <param name="Chain">Parent IDs, nearest first; empty for a base layer.</param>
/// <param name="Layout">The store layout, e.g. <c>native</c>.</param>
public sealed record LayerDescription(string Id, IReadOnlyList<string> Chain, string Layout);
