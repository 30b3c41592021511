namespace LayerExport.Core.Store;

/// <summary>No layer has this ID.</summary>
public sealed class LayerNotFoundException(LayerId id)
    : LayerStoreException($"Layer '{id}' is not in the store.")
{
    /// <summary>The missing layer.</summary>
    public LayerId Id { get; } = id;
}
