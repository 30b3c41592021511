namespace LayerExport.Core.Store;

/// <summary>Why a layer cannot be exported, known before any byte is sent.</summary>
public abstract class LayerStoreException(string message, Exception? inner = null) : Exception(message, inner);
