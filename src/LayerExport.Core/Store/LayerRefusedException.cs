namespace LayerExport.Core.Store;

/// <summary>The store holds something the server refuses to read, such as a symlink in place of a layer directory.</summary>
public sealed class LayerRefusedException(string message) : LayerStoreException(message);
