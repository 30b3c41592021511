using LayerExport.Core.Compression;
using LayerExport.Core.Store;

namespace LayerExport.Core.Export;

/// <summary>Checks an export request against the store and opens the layer, before any byte is sent.</summary>
/// <remarks>
/// Everything that can be refused is refused here, so that an HTTP front end can still answer with a problem
/// response; once this returns, only a failure while reading the layer can end the export.
/// </remarks>
public sealed class LayerExporter(ILayerStore store, CompressionOptions compressionOptions)
{
    /// <summary>An exporter with the default codec settings.</summary>
    public LayerExporter(ILayerStore store)
        : this(store, new CompressionOptions())
    {
    }

    /// <summary>Validates <paramref name="id"/> and the caller's view of its parents, then opens the layer.</summary>
    /// <param name="id">The layer ID as the caller wrote it.</param>
    /// <param name="parents">The caller's parent chain, nearest first; it must be the start of the recorded chain.</param>
    public PreparedExport Prepare(string? id, IReadOnlyList<string> parents)
    {
        var (layerId, description) = Validate(id, parents);
        return new PreparedExport(description, store.Open(layerId), compressionOptions);
    }

    /// <summary>Validates <paramref name="id"/> and the caller's view of its parents as <see cref="Prepare"/> does, opening nothing.</summary>
    /// <returns>The layer's description.</returns>
    public LayerDescription Check(string? id, IReadOnlyList<string> parents) => Validate(id, parents).Description;

    private (LayerId Id, LayerDescription Description) Validate(string? id, IReadOnlyList<string> parents)
    {
        var layerId = store.ParseId(id);
        var named = parents.Select(parent => store.ParseId(parent).Value).ToList();
        var description = store.Describe(layerId);
        if (named.Count > description.Chain.Count || !named.SequenceEqual(description.Chain.Take(named.Count), StringComparer.Ordinal))
        {
            throw new ParentChainMismatchException(layerId, parents, description.Chain);
        }

        return (layerId, description);
    }
}
