namespace LayerExport.Core.Store;

/// <summary>The store contradicts itself: a missing parent, a cycle, unreadable metadata.</summary>
public sealed class LayerStoreCorruptException(string message, Exception? inner = null) : LayerStoreException(message, inner);
