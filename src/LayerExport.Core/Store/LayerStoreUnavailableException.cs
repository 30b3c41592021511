namespace LayerExport.Core.Store;

/// <summary>The store as a whole cannot be read now, such as a root directory deleted while the server runs.</summary>
public sealed class LayerStoreUnavailableException(string message, Exception? inner = null) : LayerStoreException(message, inner);
